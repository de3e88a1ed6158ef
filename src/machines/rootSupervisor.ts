import { enqueueActions, fromCallback, setup } from 'xstate';
import type { JsonValue } from '../drivers/contract.js';
import type { BusSupervisorEvent, BusSupervisorInput } from './busSupervisorModel.js';
import { nowOf } from './clock.js';
import type { ConnectionEvent } from './connectionModel.js';
import type { GatewayNotice } from './notices.js';
import { deliver, OUTLET_SYSTEM_ID } from './outlet.js';
import type { SupervisorPolicy } from './policy.js';
import { decideRestart, EMPTY_RESTART_BOOK, type RestartBook } from './restarts.js';
import { errorText } from '../errorText.js';

// The root of the actor tree: one bus supervisor per bus/adapter (each hosted in an actor system of its
// own, see supervisorActors.ts), the MQTT link, and the outlet for the root's own notices. A bus
// supervisor that escalates (restart intensity exceeded) or crashes is stopped and started again from
// scratch, its bus reopened, and a failed link is replaced; the root never gives up, it only slows
// down to the restart backoff cap. Commands and device events are routed to the right bus here.

export interface RootSupervisorInput {
  buses: readonly BusSupervisorInput[];
  restartBackoff: SupervisorPolicy['restartBackoff'];
}

interface RootContext {
  buses: Record<string, BusSupervisorInput>;
  deviceBus: Record<string, string>;
  books: Record<string, RestartBook>;
  /** Bus supervisors waiting out their restart backoff. */
  pending: { busId: string; dueAt: number }[];
  restartBackoff: SupervisorPolicy['restartBackoff'];
  /** When the replaced MQTT link starts again (while `mqtt.restarting`). */
  mqttRestartAt: number | null;
}

/** The id (and restart-book key) of the MQTT link the root hosts. */
export const MQTT_LINK_ID = 'mqtt';

export type RootEvent =
  | { type: 'COMMAND'; deviceId: string; id: string; operation: string; args: JsonValue }
  | { type: 'DEVICE_EVENT'; deviceId: string; event: ConnectionEvent }
  | { type: 'RESTART_DEVICE'; deviceId: string; reason: string }
  | { type: 'RECOVER'; deviceId: string; step: string | null; reason: string }
  | { type: 'BUS_FAILED'; busId: string; reason: string }
  /** The MQTT link's own actor failed (a bug, not a broker outage, which the link handles itself). */
  | { type: 'MQTT_FAILED'; reason: string }
  /** A reloaded config: buses whose input changed restart, new ones start, removed ones stop. */
  | { type: 'RECONFIGURE'; buses: readonly BusSupervisorInput[] }
  | { type: 'RESTARTS_CHANGED' };

const ERROR_PREFIX = 'xstate.error.actor.';

const unbound = (what: string) => () => {
  throw new Error(`root supervisor used without I/O: ${what} is not bound (see supervisorActors.ts)`);
};

/** Which buses a new set of bus inputs stops (removed or changed) and starts (added or changed). */
export function busChanges(
  current: Readonly<Record<string, BusSupervisorInput>>,
  next: readonly BusSupervisorInput[],
): { stopped: string[]; started: string[]; removed: string[] } {
  const byId = Object.fromEntries(next.map((bus) => [bus.busId, bus]));
  const same = (busId: string) => JSON.stringify(current[busId]) === JSON.stringify(byId[busId]);
  return {
    stopped: Object.keys(current).filter((busId) => !byId[busId] || !same(busId)),
    started: Object.keys(byId).filter((busId) => !current[busId] || !same(busId)),
    removed: Object.keys(current).filter((busId) => !byId[busId]),
  };
}

/** The root has no intensity limit: it never gives up, the restart backoff only slows it to the cap. */
function rootRestart(context: RootContext, key: string, now: number): { delayMs: number; book: RestartBook } {
  const decision = decideRestart(
    { maxRestarts: Number.POSITIVE_INFINITY, periodMs: 0, restartBackoff: context.restartBackoff },
    context.books[key] ?? EMPTY_RESTART_BOOK,
    now,
  );
  return {
    delayMs: decision.kind === 'restart' ? decision.delayMs : context.restartBackoff.maxMs,
    book: decision.book,
  };
}

function spawnBuses(
  enqueue: { spawnChild(src: 'bus', options: { id: string; input: BusSupervisorInput }): void },
  context: RootContext,
  busIds: readonly string[],
): void {
  for (const busId of busIds) {
    const input = context.buses[busId];
    if (input) enqueue.spawnChild('bus', { id: busId, input });
  }
}

export const rootSupervisorMachine = setup({
  types: {
    context: {} as RootContext,
    events: {} as RootEvent,
    input: {} as RootSupervisorInput,
  },
  actors: {
    // Hosts one bus supervisor in an actor system of its own; sends BUS_FAILED when it escalates.
    bus: fromCallback<BusSupervisorEvent, BusSupervisorInput>(unbound('bus')),
    outlet: fromCallback<GatewayNotice>(unbound('outlet')),
    // Runs the MQTT link; sends MQTT_FAILED if it fails. A tree without MQTT (unit tests) runs nothing.
    mqttLink: fromCallback<RootEvent>(() => {}),
  },
  delays: {
    untilNextRestart: ({ context, system }) =>
      Math.max(0, Math.min(...context.pending.map((r) => r.dueAt)) - nowOf(system)),
    untilMqttRestart: ({ context, system }) => Math.max(0, (context.mqttRestartAt ?? 0) - nowOf(system)),
  },
  guards: {
    hasPendingRestarts: ({ context }) => context.pending.length > 0,
  },
  actions: {
    spawnAllBuses: enqueueActions(({ context, enqueue }) =>
      spawnBuses(enqueue, context, Object.keys(context.buses)),
    ),
    // A bus supervisor that throws (a bug) is treated like one that escalated.
    busCrashed: enqueueActions(({ event, enqueue }) => {
      const busId = event.type.slice(ERROR_PREFIX.length);
      const reason = `supervisor crashed: ${errorText((event as unknown as { error: unknown }).error)}`;
      enqueue.raise({ type: 'BUS_FAILED', busId, reason });
    }),
    /** Routes a device-addressed event to the bus supervisor of that device. */
    route: enqueueActions(({ context, event, enqueue, system }) => {
      if (!('deviceId' in event)) return;
      const busId = context.deviceBus[event.deviceId];
      if (busId && context.pending.every((p) => p.busId !== busId)) {
        enqueue.sendTo(busId, event as BusSupervisorEvent);
        return;
      }
      if (event.type !== 'COMMAND') return;
      deliver(enqueue, system, {
        type: 'device.commandResult',
        deviceId: event.deviceId,
        commandId: event.id,
        operation: event.operation,
        result: {
          ok: false,
          error: busId
            ? `the bus of ${event.deviceId} (${busId}) is restarting, try again shortly`
            : `unknown device "${event.deviceId}"`,
        },
        refused: 'not_running',
        at: nowOf(system),
      });
    }),
    restartBus: enqueueActions(({ context, enqueue, system }, params: { busId: string; reason: string }) => {
      if (!context.buses[params.busId]) return;
      const now = nowOf(system);
      // The root has no intensity limit: it never gives up, the backoff only slows it to the cap.
      const { delayMs, book } = rootRestart(context, params.busId, now);
      enqueue.stopChild(params.busId);
      deliver(enqueue, system, {
        type: 'supervisor.restart',
        busId: params.busId,
        actorId: params.busId,
        reason: params.reason,
        delayMs,
        at: now,
      });
      enqueue.assign({
        books: { ...context.books, [params.busId]: book },
        pending: [
          ...context.pending.filter((p) => p.busId !== params.busId),
          { busId: params.busId, dueAt: now + delayMs },
        ],
      });
      enqueue.raise({ type: 'RESTARTS_CHANGED' });
    }),
    /** Replaces a failed MQTT link after the same restart backoff as a bus (the root never gives up). */
    scheduleMqttRestart: enqueueActions(({ context, enqueue, system }, params: { reason: string }) => {
      const now = nowOf(system);
      const { delayMs, book } = rootRestart(context, MQTT_LINK_ID, now);
      deliver(enqueue, system, {
        type: 'supervisor.restart',
        busId: 'root',
        actorId: MQTT_LINK_ID,
        reason: params.reason,
        delayMs,
        at: now,
      });
      enqueue.assign({
        books: { ...context.books, [MQTT_LINK_ID]: book },
        mqttRestartAt: now + delayMs,
      });
    }),
    reconfigure: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type !== 'RECONFIGURE') return;
      const now = nowOf(system);
      const next = Object.fromEntries(event.buses.map((bus) => [bus.busId, bus]));
      const { stopped, started } = busChanges(context.buses, event.buses);
      for (const busId of stopped) enqueue.stopChild(busId);
      for (const busId of started) {
        deliver(enqueue, system, {
          type: 'supervisor.restart',
          busId,
          actorId: busId,
          reason: context.buses[busId] ? 'config reloaded' : 'added by a config reload',
          delayMs: 0,
          at: now,
        });
      }
      enqueue.assign({
        buses: next,
        deviceBus: Object.fromEntries(
          event.buses.flatMap((bus) => bus.devices.map((device) => [device.deviceId, bus.busId])),
        ),
        // Started through the restart queue, so a bus stopped above is gone before its successor starts.
        pending: [
          ...context.pending.filter((p) => next[p.busId] && !started.includes(p.busId)),
          ...started.map((busId) => ({ busId, dueAt: now })),
        ],
      });
      enqueue.raise({ type: 'RESTARTS_CHANGED' });
    }),
    startDueBuses: enqueueActions(({ context, enqueue, system }) => {
      const now = nowOf(system);
      const due = context.pending.filter((p) => p.dueAt <= now).map((p) => p.busId);
      enqueue.assign({ pending: context.pending.filter((p) => p.dueAt > now) });
      spawnBuses(enqueue, context, due);
    }),
  },
}).createMachine({
  id: 'root',
  type: 'parallel',
  context: ({ input }) => ({
    buses: Object.fromEntries(input.buses.map((bus) => [bus.busId, bus])),
    deviceBus: Object.fromEntries(
      input.buses.flatMap((bus) => bus.devices.map((d) => [d.deviceId, bus.busId])),
    ),
    books: {},
    pending: [],
    restartBackoff: input.restartBackoff,
    mqttRestartAt: null,
  }),
  invoke: { id: OUTLET_SYSTEM_ID, systemId: OUTLET_SYSTEM_ID, src: 'outlet' },
  states: {
    supervision: {
      initial: 'running',
      states: {
        running: {
          entry: 'spawnAllBuses',
          on: {
            COMMAND: { actions: 'route' },
            DEVICE_EVENT: { actions: 'route' },
            RESTART_DEVICE: { actions: 'route' },
            RECOVER: { actions: 'route' },
            BUS_FAILED: {
              actions: {
                type: 'restartBus',
                params: ({ event }) => ({ busId: event.busId, reason: event.reason }),
              },
            },
            'xstate.error.actor.*': { actions: 'busCrashed' },
            RECONFIGURE: { actions: 'reconfigure' },
          },
        },
      },
    },
    mqtt: {
      initial: 'running',
      states: {
        running: {
          invoke: {
            id: MQTT_LINK_ID,
            src: 'mqttLink',
            onError: {
              target: 'restarting',
              actions: {
                type: 'scheduleMqttRestart',
                params: ({ event }) => ({ reason: `MQTT link host crashed: ${errorText(event.error)}` }),
              },
            },
          },
          on: {
            MQTT_FAILED: {
              target: 'restarting',
              actions: { type: 'scheduleMqttRestart', params: ({ event }) => ({ reason: event.reason }) },
            },
          },
        },
        restarting: { after: { untilMqttRestart: 'running' } },
      },
    },
    restarts: {
      initial: 'idle',
      states: {
        idle: { always: { guard: 'hasPendingRestarts', target: 'waiting' } },
        waiting: {
          after: { untilNextRestart: { target: 'idle', actions: 'startDueBuses' } },
          on: { RESTARTS_CHANGED: { target: 'waiting', reenter: true } },
        },
      },
    },
  },
});

export type RootSupervisorMachine = typeof rootSupervisorMachine;
