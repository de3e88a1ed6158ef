import { afterEach, describe, expect, it } from 'vitest';
import { GattFailure, type GattFailureKind } from '../src/drivers/ble/gatt/index.js';
import { seededRandom } from '../src/drivers/shared/random.js';
import { findDbusDaemon } from '../src/drivers/ble/simulator/daemon.js';
import { ECHO_LAYOUT } from '../src/drivers/ble/simulator/gattPeripheral.js';
import { eventually } from './helpers/eventually.js';
import { bytes, collect, gattRig, joined } from './helpers/gattRig.js';

// A short seeded soak of connected BLE: sixty polls (connect, notify, write, echo, disconnect) against a
// device whose faults change at random before each one. Every poll either works or fails with a named
// kind within its bound; nothing hangs, no reply is left awaited, no link is left behind, and a clean
// poll works at the end.

const DBUS_DAEMON = findDbusDaemon();
if (DBUS_DAEMON === undefined) console.warn('ble-gatt-soak.test.ts: dbus-daemon is not installed; skipped');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { write: WRITE, notify: NOTIFY } = ECHO_LAYOUT;
const CONNECT_MS = 400;
const ECHO_MS = 400;

describe.skipIf(DBUS_DAEMON === undefined)('connected BLE soak with random faults', () => {
  it('sixty polls: each one works or fails by name within its bound, and nothing is left behind', async () => {
    const { adapter, addEcho, client } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    const random = seededRandom(19);
    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    for (let poll = 0; poll < 60; poll += 1) {
      device.faults.clear();
      const roll = random();
      if (roll < 0.1) device.faults.failConnects('abort');
      else if (roll < 0.2) device.faults.failConnects('in_progress');
      else if (roll < 0.27) device.faults.hangConnects = true;
      else if (roll < 0.34) device.faults.servicesMissing = true;
      else if (roll < 0.42) device.faults.dropPiece(1);
      else if (roll < 0.5) device.faults.lateMs = ECHO_MS * 2;
      const started = performance.now();
      try {
        const link = await adapter.connect(path, { timeoutMs: CONNECT_MS, require: [WRITE, NOTIFY] });
        const seen = collect(link);
        await link.startNotify(NOTIFY);
        await link.write(WRITE, bytes(45, poll), { withoutResponse: true });
        const complete = await eventually(() => joined(seen).length === 45, {
          what: 'the echo',
          timeoutMs: ECHO_MS,
        }).then(
          () => true,
          () => false,
        );
        // A lost piece or a late answer: the poll's protocol would drop the session; so does this one.
        count(complete ? 'echoed' : 'echo incomplete');
        await link.disconnect();
      } catch (error) {
        expect(error).toBeInstanceOf(GattFailure);
        count((error as GattFailure).kind satisfies GattFailureKind);
      }
      // Each poll is bounded: connect, echo wait and a Disconnect bounded by the method timeout.
      expect(performance.now() - started).toBeLessThan(CONNECT_MS + ECHO_MS + 1_500);
      expect(adapter.link(path)).toBeUndefined();
    }
    device.faults.clear();
    await eventually(() => client.pendingReplies === 0, { what: 'no reply still awaited' });
    const link = await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] });
    const seen = collect(link);
    await link.startNotify(NOTIFY);
    await link.write(WRITE, bytes(45), { withoutResponse: true });
    await eventually(() => joined(seen).length === 45, { what: 'the clean echo at the end' });
    const summary = Object.fromEntries(outcomes);
    expect(Object.keys(summary).sort()).toEqual(
      [
        'connect_aborted',
        'connect_timeout',
        'echo incomplete',
        'echoed',
        'in_progress',
        'services_missing',
      ].sort(),
    );
    expect(summary.echoed).toBeGreaterThanOrEqual(25);
  });
});
