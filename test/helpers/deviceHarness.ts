import { type AnyActorRef, createActor, setup } from 'xstate';
import { bindConnectionMachine } from '../../src/actors/deviceActors.js';
import { SimulatedBusRuntime, type SimulationOptions } from '../../src/actors/simulated/runtime.js';
import type { ConnectionEvent } from '../../src/machines/connection.js';
import type { DeviceNotice } from '../../src/machines/notices.js';
import { DEFAULT_DEVICE_POLICY, type DevicePolicy } from '../../src/machines/policy.js';
import { simulatedClock } from './time.js';

/** One device machine on a simulated bus under a minimal parent that records every notice. */
export function deviceHarness(
  options: { policy?: Partial<DevicePolicy>; simulation?: Partial<SimulationOptions> } = {},
) {
  const clock = simulatedClock();
  const runtime = new SimulatedBusRuntime('sim', clock);
  runtime.addDevice('dev1', options.simulation);
  const notices: DeviceNotice[] = [];
  const policy: DevicePolicy = { ...DEFAULT_DEVICE_POLICY, ...options.policy };
  const parent = setup({
    actors: { device: bindConnectionMachine(() => runtime) },
  }).createMachine({
    invoke: { id: 'device', src: 'device', input: { deviceId: 'dev1', busId: 'sim', policy } },
    on: { '*': { actions: ({ event }) => notices.push(event as DeviceNotice) } },
  });
  const actor = createActor(parent, { clock });
  actor.start();
  const device = actor.getSnapshot().children.device as AnyActorRef;
  return {
    clock,
    runtime,
    notices,
    send: (event: ConnectionEvent) => device.send(event),
    snapshot: () => device.getSnapshot(),
    statuses: () => notices.filter((n) => n.type === 'device.status').map((n) => n.status),
    stop: () => actor.stop(),
  };
}
