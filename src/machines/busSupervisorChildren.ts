import type { AnyActorRef } from 'xstate';
import {
  type BusSupervisorContext,
  type BusSupervisorEvent,
  freshWatch,
  restartGroup,
  specOf,
} from './busSupervisorModel.js';
import { nowOf } from './clock.js';
import type { ConnectionInput } from './connectionModel.js';
import type { CommandResultNotice } from './notices.js';
import { deliver } from './outlet.js';
import { decideRestart } from './restarts.js';

// How a bus supervisor starts, stops and restarts its device children. Plain functions over the
// action queue of `enqueueActions`, not named actions: XState v5 actions defined in `setup` cannot
// call each other with typed parameters, so the machine's actions share these instead.

/** What the bus watcher (the bus's I/O actor) is sent: release the link of a device. */
export interface ReleaseLink {
  type: 'RELEASE';
  deviceId: string;
}

export const BUS_WATCH_ID = 'busWatch';

/** The parts of an `enqueueActions` queue these functions use. */
export interface ChildControl {
  spawnChild(src: 'device', options: { id: string; input: ConnectionInput }): void;
  stopChild(id: string): void;
  sendTo(to: AnyActorRef | string, event: { type: string } & Record<string, unknown>): void;
  assign(
    update:
      | Partial<BusSupervisorContext>
      | ((args: { context: BusSupervisorContext }) => Partial<BusSupervisorContext>),
  ): void;
  raise(event: BusSupervisorEvent): void;
}

type SystemLike = Parameters<typeof deliver>[1] & Parameters<typeof nowOf>[0];

type SupervisorSelf = { getSnapshot(): { children: unknown } };

type ChildRef = { getSnapshot(): { context?: { commands?: readonly { id: string; operation: string }[] } } };

/** Answers the commands still queued in a child that is about to be stopped, so none is lost silently. */
function commandsOfStoppedChild(
  child: ChildRef | undefined,
  deviceId: string,
  error: string,
  at: number,
): CommandResultNotice[] {
  const commands = child?.getSnapshot().context?.commands ?? [];
  return commands.map((command) => ({
    type: 'device.commandResult',
    deviceId,
    commandId: command.id,
    operation: command.operation,
    result: { ok: false, error },
    at,
  }));
}

/** Spawns devices as children and tells them to connect. */
export function spawnDevices(
  enqueue: ChildControl,
  context: BusSupervisorContext,
  deviceIds: readonly string[],
  now: number,
) {
  for (const deviceId of deviceIds) {
    const spec = specOf(context, deviceId);
    if (!spec) continue;
    enqueue.spawnChild('device', {
      id: deviceId,
      input: { deviceId, busId: context.busId, policy: spec.policy },
    });
    enqueue.sendTo(deviceId, { type: 'CONNECT' });
  }
  enqueue.assign(({ context: current }) => ({
    running: [...new Set([...current.running, ...deviceIds])],
    watches: {
      ...current.watches,
      ...Object.fromEntries(
        deviceIds.map((id) => [
          id,
          { ...(current.watches[id] ?? freshWatch(now)), status: 'disconnected' as const, since: now },
        ]),
      ),
    },
  }));
}

/**
 * Stops children, answering the commands still queued in them first so none is lost silently.
 * `releaseLinks: false` when the bus watcher is gone (leaving `running` stopped it; sending to it
 * would crash the supervisor) and closing the bus releases every link anyway.
 */
export function stopDevices(
  enqueue: ChildControl,
  self: SupervisorSelf,
  system: SystemLike,
  deviceIds: readonly string[],
  reason: string,
  releaseLinks = true,
) {
  const now = nowOf(system);
  const children = self.getSnapshot().children as Record<string, ChildRef | undefined>;
  for (const deviceId of deviceIds) {
    const error = `device ${deviceId} was restarted (${reason}) before the command ran`;
    for (const notice of commandsOfStoppedChild(children[deviceId], deviceId, error, now)) {
      deliver(enqueue, system, notice);
    }
    enqueue.stopChild(deviceId);
    // A stopped actor runs no exit actions, so its link is released here.
    if (releaseLinks) enqueue.sendTo(BUS_WATCH_ID, { type: 'RELEASE', deviceId } satisfies ReleaseLink);
  }
  enqueue.assign(({ context }) => ({ running: context.running.filter((id) => !deviceIds.includes(id)) }));
}

/**
 * Restarts a child (with its rest_for_one group) as its restart type says, or escalates: stops the
 * group now and schedules the restarts after the backoff the restart book gives.
 */
export function restartDevice(
  enqueue: ChildControl,
  context: BusSupervisorContext,
  self: SupervisorSelf,
  system: SystemLike,
  event: Extract<BusSupervisorEvent, { type: 'RESTART_CHILD' }>,
) {
  const now = nowOf(system);
  const spec = specOf(context, event.deviceId);
  if (!spec) return;
  const group = restartGroup(context, event.deviceId);
  stopDevices(enqueue, self, system, group, event.reason);
  const restarts = spec.restart === 'permanent' || (spec.restart === 'transient' && event.crashed);
  const toRestart = restarts ? group : group.filter((id) => id !== event.deviceId);
  if (!restarts) {
    deliver(enqueue, system, {
      type: 'supervisor.child_stopped',
      busId: context.busId,
      actorId: event.deviceId,
      reason: `${event.reason}; not restarted (restart: ${spec.restart})`,
      at: now,
    });
  }
  if (toRestart.length === 0) return;
  // An operator's restart is no failure: six clicks in a row must not escalate and restart the bus.
  const decision = event.requested
    ? ({ kind: 'restart', delayMs: 0, book: context.restartBook } as const)
    : decideRestart(context.policy, context.restartBook, now);
  enqueue.assign({ restartBook: decision.book });
  if (decision.kind === 'escalate') {
    enqueue.raise({ type: 'STOP', reason: decision.reason });
    return;
  }
  for (const deviceId of toRestart) {
    deliver(enqueue, system, {
      type: 'supervisor.restart',
      busId: context.busId,
      actorId: deviceId,
      reason: deviceId === event.deviceId ? event.reason : `restarted with ${event.deviceId} (rest_for_one)`,
      delayMs: decision.delayMs,
      at: now,
    });
  }
  enqueue.assign(({ context: current }) => ({
    pendingRestarts: [
      ...current.pendingRestarts.filter((r) => !toRestart.includes(r.deviceId)),
      ...toRestart.map((deviceId) => ({ deviceId, dueAt: now + decision.delayMs, reason: event.reason })),
    ],
    watches: Object.fromEntries(
      Object.entries(current.watches).map(([id, watch]) =>
        toRestart.includes(id) ? [id, { ...watch, restarts: watch.restarts + 1 }] : [id, watch],
      ),
    ),
  }));
  enqueue.raise({ type: 'RESTARTS_CHANGED' });
}
