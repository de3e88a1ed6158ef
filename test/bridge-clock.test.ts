import { describe, expect, it } from 'vitest';
import { Bridge, type BridgeLink } from '../src/bridge/bridge.js';
import { parseConfig } from '../src/config/index.js';
import type { Persistence } from '../src/persistence/index.js';
import { offlineLink } from './helpers/offlineBridge.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';
import { advance, simulatedClock } from './helpers/time.js';

// The bridge keeps its time on the clock it is given: its health report and the deadline of its last
// drain run on simulated time in a test (minutes pass in no time, nothing waits for real seconds).

const { dbPath, open } = persistenceFixture();

const config = parseConfig('health: { interval_ms: 60000 }\ndevices: [{ id: lamp, driver: simulated }]', {});

function bridgeOn(persistence: Persistence, link: BridgeLink, clock = simulatedClock()) {
  return { clock, bridge: new Bridge({ config, version: 'test', persistence, link, send: () => {}, clock }) };
}

/** A link that is up and acknowledges every publish; it records the topics published. */
function recordingLink() {
  const topics: string[] = [];
  const link: BridgeLink = {
    ...offlineLink,
    online: true,
    publish: (topic, _payload, _options, done) => {
      topics.push(topic);
      done(null);
    },
  };
  return {
    link,
    healthReports: () => topics.filter((topic) => topic === 'fieldbridge/bridge/health').length,
  };
}

describe('Bridge on an injected clock', () => {
  it('publishes bridge/health every health interval of simulated time', async () => {
    const persistence = open({ path: dbPath() });
    const { link, healthReports } = recordingLink();
    const { clock, bridge } = bridgeOn(persistence, link);
    try {
      bridge.start();
      // Past the start (its status changes are published as they happen), just after the 2nd report.
      await advance(clock, 120_500, 1_000);
      const before = healthReports();
      await advance(clock, 59_000, 1_000);
      expect(healthReports()).toBe(before);
      await advance(clock, 1_000, 1_000);
      expect(healthReports()).toBe(before + 1);
      await advance(clock, 120_000, 1_000);
      expect(healthReports()).toBe(before + 3);
    } finally {
      bridge.stop();
    }
  });

  it('gives up the last drain at its deadline in simulated time when the broker takes nothing', async () => {
    const persistence = open({ path: dbPath() });
    // Online, but no publish is ever acknowledged.
    const silent: BridgeLink = { ...offlineLink, online: true, publish: () => undefined };
    const { clock, bridge } = bridgeOn(persistence, silent);
    try {
      bridge.start();
      let left: number | undefined;
      void bridge.drain(5_000).then((count) => (left = count));
      await advance(clock, 4_900, 25);
      expect(left).toBeUndefined();
      await advance(clock, 200, 25);
      expect(left).toBeGreaterThan(0);
    } finally {
      bridge.stop();
    }
  });
});
