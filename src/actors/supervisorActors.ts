import {
  type Actor,
  createActor,
  fromCallback,
  fromPromise,
  type InspectionEvent,
  type Observer,
} from 'xstate';
import { busSupervisorMachine } from '../machines/busSupervisor.js';
import type { ReleaseLink } from '../machines/busSupervisorChildren.js';
import type { BusSupervisorEvent, BusSupervisorInput } from '../machines/busSupervisorModel.js';
import type { GatewayClock } from '../machines/clock.js';
import type { GatewayNotice, NoticeSink } from '../machines/notices.js';
import { rootSupervisorMachine } from '../machines/rootSupervisor.js';
import type { BusRegistry } from './busRegistry.js';
import { type BoundConnectionMachine, bindConnectionMachine } from './deviceActors.js';
import type { BusEvent } from './driver.js';

// Binds the supervisor machines to I/O: bus runtimes from the registry, the outlets to the gateway's
// notice sink, and the hosting of each bus supervisor in an actor system of its own. The result is
// the one root logic the gateway (and the tests) start, plus a live view of the bus actors.

export interface SupervisorTreeOptions {
  registry: BusRegistry;
  sink: NoticeSink;
  clock: GatewayClock;
  /** Replaces the bound device logic, e.g. with one that has a bug injected (tests of crash handling). */
  decorateDevice?: (logic: BoundConnectionMachine) => BoundConnectionMachine;
  /** Observes every actor of every bus system (the Stately inspector, tests). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

function toSupervisorEvent(event: BusEvent): BusSupervisorEvent {
  if (event.type === 'lost') return { type: 'BUS_LOST', error: event.error };
  if (event.type === 'present') return { type: 'BUS_PRESENT' };
  const { deviceId, event: link } = event;
  switch (link.type) {
    case 'lost':
      return { type: 'DEVICE_EVENT', deviceId, event: { type: 'LINK_LOST', error: link.error } };
    case 'data':
      return {
        type: 'DEVICE_EVENT',
        deviceId,
        event: { type: 'LINK_DATA', operation: link.operation, result: link.result },
      };
    case 'failure':
      return { type: 'DEVICE_EVENT', deviceId, event: { type: 'LINK_FAILURE', error: link.error } };
  }
}

function outletLogic(sink: NoticeSink) {
  return fromCallback<GatewayNotice>(({ receive }) => {
    receive((notice) => {
      // A failing sink (a logging or MQTT bug) must not take the supervision tree down with it.
      try {
        sink(notice);
      } catch (error) {
        process.emitWarning(`notice sink failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  });
}

export function bindSupervisorTree(options: SupervisorTreeOptions) {
  const { registry, sink, clock, inspect } = options;
  const lookup = (busId: string) => registry.get(busId);
  const busLogic = busSupervisorMachine.provide({
    actors: {
      device: (options.decorateDevice ?? ((logic) => logic))(bindConnectionMachine(lookup)),
      outlet: outletLogic(sink),
      openBus: fromPromise<void, { busId: string }>(async ({ input }) => {
        await registry.openBus(input.busId);
      }),
      closeBus: fromPromise<void, { busId: string }>(({ input }) => registry.closeBus(input.busId)),
      // The bus's one I/O watcher: bus and device events in, link releases out.
      busWatch: fromCallback<ReleaseLink, { busId: string }>(({ input, sendBack, receive }) => {
        const runtime = lookup(input.busId);
        receive((event) => void runtime.disconnect(event.deviceId));
        return runtime.watchBus((event) => sendBack(toSupervisorEvent(event)));
      }),
      recoveryStep: fromPromise<void, { busId: string; deviceId: string; step: string }>(
        ({ input, signal }) => lookup(input.busId).runRecoveryStep(input.step, input.deviceId, signal),
      ),
    },
  });
  /** The running bus supervisors, by bus id (health, /state, tests). */
  const buses = new Map<string, Actor<typeof busLogic>>();

  const hostBus = fromCallback<BusSupervisorEvent, BusSupervisorInput>(({ input, receive, sendBack }) => {
    const actor = createActor(busLogic, { input, clock, ...(inspect ? { inspect } : {}) });
    buses.set(input.busId, actor);
    let reported = false;
    const report = (reason: string) => {
      if (reported) return;
      reported = true;
      sendBack({ type: 'BUS_FAILED', busId: input.busId, reason });
    };
    const subscription = actor.subscribe({
      next: (snapshot) => {
        if (snapshot.matches({ lifecycle: 'failed' })) report(snapshot.context.failure ?? 'bus stopped');
      },
      error: (error) =>
        report(`supervisor crashed: ${error instanceof Error ? error.message : String(error)}`),
    });
    actor.start();
    receive((event) => actor.send(event));
    return () => {
      subscription.unsubscribe();
      actor.stop();
      if (buses.get(input.busId) === actor) buses.delete(input.busId);
    };
  });

  const logic = rootSupervisorMachine.provide({ actors: { bus: hostBus, outlet: outletLogic(sink) } });
  return { logic, buses };
}

export type SupervisorTree = ReturnType<typeof bindSupervisorTree>;
