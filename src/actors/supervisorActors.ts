import { fromCallback, fromPromise } from 'xstate';
import { busSupervisorMachine } from '../machines/busSupervisor.js';
import type { BusSupervisorEvent } from '../machines/busSupervisorModel.js';
import type { GatewayNotice, NoticeSink } from '../machines/notices.js';
import { rootSupervisorMachine } from '../machines/rootSupervisor.js';
import type { BusRegistry } from './busRegistry.js';
import { bindConnectionMachine } from './deviceActors.js';

// Binds the supervisor machines to I/O: bus runtimes from the registry, and the outlet to the
// gateway's notice sink. The result is the one root logic the gateway (and the tests) start.

export function bindSupervisorTree(registry: BusRegistry, sink: NoticeSink) {
  const lookup = (busId: string) => registry.get(busId);
  const bus = busSupervisorMachine.provide({
    actors: {
      device: bindConnectionMachine(lookup),
      openBus: fromPromise<void, { busId: string }>(async ({ input }) => {
        await registry.openBus(input.busId);
      }),
      closeBus: fromPromise<void, { busId: string }>(({ input }) => registry.closeBus(input.busId)),
      busWatch: fromCallback<BusSupervisorEvent, { busId: string }>(({ input, sendBack }) =>
        lookup(input.busId).watchBus((event) =>
          sendBack(event.type === 'lost' ? { type: 'BUS_LOST', error: event.error } : { type: 'BUS_PRESENT' }),
        ),
      ),
      recoveryStep: fromPromise<void, { busId: string; deviceId: string; step: string }>(({ input, signal }) =>
        lookup(input.busId).runRecoveryStep(input.step, input.deviceId, signal),
      ),
    },
  });
  return rootSupervisorMachine.provide({
    actors: {
      bus,
      outlet: fromCallback<GatewayNotice>(({ receive }) => {
        receive((notice) => {
          // A failing sink (a logging or MQTT bug) must not take the supervision tree down with it.
          try {
            sink(notice);
          } catch (error) {
            process.emitWarning(`notice sink failed: ${error instanceof Error ? error.message : String(error)}`);
          }
        });
      }),
    },
  });
}

export type SupervisorTreeLogic = ReturnType<typeof bindSupervisorTree>;
