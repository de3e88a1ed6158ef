import { describe, expect, it } from 'vitest';
import { Services } from '../src/gateway/services.js';
import { captureLogs, getLogger } from '../src/logging/index.js';
import { advance, settle, simulatedClock } from './helpers/time.js';

function runner(clock = simulatedClock()) {
  return new Services({ clock, log: getLogger('test.services'), stopTimeoutMs: 1_000 });
}

describe('the gateway services', () => {
  it('start in order and stop in the reverse order', async () => {
    const services = runner();
    const events: string[] = [];
    for (const name of ['database', 'mqtt', 'bridge', 'http']) {
      await services.start({
        name,
        start: () => void events.push(`start ${name}`),
        stop: async () => {
          await Promise.resolve();
          events.push(`stop ${name}`);
        },
      });
    }
    expect(await services.stopAll()).toEqual({
      http: 'stopped',
      bridge: 'stopped',
      mqtt: 'stopped',
      database: 'stopped',
    });
    expect(events).toEqual([
      'start database',
      'start mqtt',
      'start bridge',
      'start http',
      'stop http',
      'stop bridge',
      'stop mqtt',
      'stop database',
    ]);
  });

  it('go on stopping past a stop that throws and one that hangs, the hanging one cut off at its bound', async () => {
    const logs = captureLogs();
    const clock = simulatedClock();
    const services = runner(clock);
    const stopped: string[] = [];
    await services.start({ name: 'database', stop: () => void stopped.push('database') });
    await services.start({
      name: 'broken',
      stop: () => {
        throw new Error('it broke');
      },
    });
    await services.start({ name: 'stuck', stopTimeoutMs: 300, stop: () => new Promise<void>(() => {}) });
    await services.start({ name: 'http', stop: () => void stopped.push('http') });
    let outcomes: Record<string, string> | undefined;
    void services.stopAll().then((result) => (outcomes = result));
    await settle();
    expect(stopped).toEqual(['http']);
    await advance(clock, 290);
    expect(stopped).toEqual(['http']); // still within the stuck service's bound
    await advance(clock, 20);
    expect(stopped).toEqual(['http', 'database']);
    expect(outcomes).toEqual({ http: 'stopped', stuck: 'timed_out', broken: 'failed', database: 'stopped' });
    const lines = logs.entries.map((entry) => entry.msg);
    logs.stop();
    expect(lines).toContain('stuck: it did not stop within 300 ms; going on without it');
    expect(lines).toContain('broken: stopping it failed: it broke');
  });
});
