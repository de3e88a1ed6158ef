import { afterEach, expect, it } from 'vitest';
import { AdapterSession } from '../src/drivers/shared/bluez/session.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { BluezSimulator } from '../src/drivers/shared/bluez/simulator/simulator.js';
import { SHORT_TIMEOUTS } from './helpers/gattRig.js';

// A scan paused for a connect and resumed is the same scan for the watchdog: its "discovering since"
// does not start over, or a stuck scan would never be seen while connected devices (Renogy) are polled
// more often than stuck_after_ms (found by the soak: ble_stuck was never repaired).

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it.skipIf(findDbusDaemon() === undefined)(
  'pause and resume for a connect keep discoveringSince; a fresh start does not',
  async () => {
    const simulator = new BluezSimulator({ sensors: [], intervalMs: 0 });
    await simulator.start();
    cleanups.push(() => simulator.stop());
    let now = 1_000;
    const session = await AdapterSession.open(
      'hci0',
      { busAddress: simulator.address, timeouts: SHORT_TIMEOUTS },
      {
        device: () => undefined,
        adapterPresence: () => undefined,
        owner: () => undefined,
        closed: () => undefined,
      },
      () => now,
    );
    cleanups.push(() => session.close());
    await session.bringUp(undefined);
    const since = session.discoveringSince;
    expect(since).toBe(1_000);
    const signal = AbortSignal.timeout(5_000);
    for (let connect = 0; connect < 3; connect += 1) {
      now += 5_000;
      await session.pauseDiscovery(signal);
      now += 500;
      await session.resumeDiscovery(signal);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(session.discovering).toBe(true);
      expect(session.discoveringSince).toBe(since);
    }
    now += 1_000;
    await session.restartDiscovery(signal);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(session.discoveringSince).toBe(now);
  },
);
