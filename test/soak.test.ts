import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { formatReport } from '../scripts/soak/report.js';
import { missingTools, runSoak } from '../scripts/soak/soak.js';

// The CI soak: the chaos soak of scripts/soak (broker and gateway killed, converter and adapters pulled,
// BlueZ wedged, meters dead, frames corrupted, bad commands) for SOAK_MINUTES (default 2) with a fixed
// seed. It fails on a lost reading, a gateway crash, RSS growth beyond the bound, or a device that does
// not read again after the last fault. Fault durations are seconds and the soak waits for recovery
// between slots (up to 2 minutes), so a healthy gateway passes whatever the machine's load; a run takes
// the fault phase plus about one to three minutes of startup, slot overrun and drain.

const MINUTES = Number(process.env.SOAK_MINUTES ?? 2);
const SEED = 1;
const TIMEOUT_MS = (MINUTES * 60 + 900) * 1000;
const missing = [...missingTools(), ...(findDbusDaemon() === undefined ? ['dbus-daemon'] : [])];
if (missing.length > 0) {
  console.warn(
    `skipping the chaos soak: ${missing.join(', ')} not installed (apt-get install -y ${missing.join(' ')})`,
  );
}

describe.skipIf(missing.length > 0)('chaos soak', () => {
  it(
    `${MINUTES} min, seed ${SEED}: no reading lost, no crash, RSS bounded, every device back`,
    async () => {
      const report = await runSoak({
        minutes: MINUTES,
        seed: SEED,
        ble: true,
        print: process.env.SOAK_VERBOSE ? (line) => console.log(line) : undefined,
        // Stops the soak (and every process it started) in good time before vitest gives up on it.
        signal: AbortSignal.timeout(TIMEOUT_MS - 120_000),
      });
      console.log(formatReport(report));
      expect(report.run.interrupted, 'the soak ran out of time').toBe(false);
      expect(report.failures).toEqual([]);
      expect(report.readings.lost).toBe(0);
      expect(report.crashes).toEqual([]);
      // The soak must have done something: readings from every driver, and faults of both kinds.
      expect(report.readings.received).toBeGreaterThan(500);
      expect(report.faults.some((fault) => fault.kind === 'broker_kill')).toBe(true);
      expect(report.faults.some((fault) => fault.kind === 'gateway_kill')).toBe(true);
      expect(report.badCommands.answeredWithError).toBeGreaterThan(0);
      // Only a passing run's directory goes; a failing one keeps its logs and database as evidence.
      rmSync(report.run.dir, { recursive: true, force: true });
    },
    TIMEOUT_MS,
  );
});
