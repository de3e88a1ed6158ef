import { type AnyActorRef, createActor, fromCallback, setup } from 'xstate';
import { bindConnectionMachine } from '../../src/hosting/deviceActors.js';
import { SimulatedBusRuntime, type SimulationOptions } from '../../src/drivers/shared/simulatedRuntime.js';
import type { ConnectionEvent } from '../../src/machines/connectionModel.js';
import type { DeviceNotice } from '../../src/machines/notices.js';
import { OUTLET_SYSTEM_ID } from '../../src/machines/outlet.js';
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
    actors: {
      device: bindConnectionMachine(() => runtime),
      outlet: fromCallback<DeviceNotice>(({ receive }) => receive((notice) => notices.push(notice))),
    },
  }).createMachine({
    invoke: [
      { id: 'device', src: 'device', input: { deviceId: 'dev1', busId: 'sim', policy } },
      { id: OUTLET_SYSTEM_ID, systemId: OUTLET_SYSTEM_ID, src: 'outlet' },
    ],
    on: {
      // What the bus supervisor does for its devices: release the link when the device leaves `connected`.
      LINK_RELEASE: { actions: () => void runtime.disconnect('dev1') },
      '*': { actions: ({ event }) => notices.push(event as DeviceNotice) },
    },
  });
  const actor = createActor(parent, { clock });
  actor.start();
  const device = actor.getSnapshot().children.device as AnyActorRef;
  runtime.watchBus((event) => {
    if (event.type === 'device' && event.event.type === 'lost')
      device.send({ type: 'LINK_LOST', error: event.event.error });
    if (event.type === 'lost') device.send({ type: 'LINK_LOST', error: event.error });
  });
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
