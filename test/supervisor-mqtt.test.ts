import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { BusRegistry } from '../src/hosting/busRegistry.js';
import { bindSupervisorTree } from '../src/hosting/supervisorActors.js';
import type { GatewayNotice } from '../src/machines/notices.js';
import { DEFAULT_SUPERVISOR_POLICY } from '../src/machines/policy.js';
import { advance, simulatedClock } from './helpers/time.js';

describe('the MQTT link under the root supervisor', () => {
  it('is started by the root, and replaced with backoff when its actor fails', async () => {
    const clock = simulatedClock();
    const notices: GatewayNotice[] = [];
    const runs: { failed: (reason: string) => void; stopped: boolean }[] = [];
    const mqtt = {
      run(onFailure: (reason: string) => void) {
        const run = { failed: onFailure, stopped: false };
        runs.push(run);
        return () => {
          run.stopped = true;
        };
      },
    };
    const tree = bindSupervisorTree({
      registry: new BusRegistry(),
      sink: (n) => notices.push(n),
      clock,
      mqtt,
    });
    const root = createActor(tree.logic, {
      clock,
      input: { buses: [], restartBackoff: DEFAULT_SUPERVISOR_POLICY.restartBackoff },
    }).start();
    expect(runs).toHaveLength(1);

    runs[0]?.failed('link actor crashed');
    await advance(clock, 10);
    expect(runs[0]?.stopped).toBe(true);
    expect(notices).toContainEqual(
      expect.objectContaining({
        type: 'supervisor.restart',
        actorId: 'mqtt',
        delayMs: 1_000,
        reason: 'link actor crashed',
      }),
    );
    await advance(clock, 1_000);
    expect(runs).toHaveLength(2);

    runs[1]?.failed('again');
    await advance(clock, 2_010);
    expect(runs).toHaveLength(3);
    expect(
      notices
        .filter((n) => n.type === 'supervisor.restart')
        .map((n) => n.type === 'supervisor.restart' && n.delayMs),
    ).toEqual([1_000, 2_000]);
    root.stop();
    expect(runs[2]?.stopped).toBe(true);
  });
});
