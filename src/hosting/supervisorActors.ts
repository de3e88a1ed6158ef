import {
  type Actor,
  type AnyActorRef,
  createActor,
  fromCallback,
  fromPromise,
  type InspectionEvent,
  type Observer,
  type Snapshot,
} from 'xstate';
import { busSupervisorMachine } from '../machines/busSupervisor.js';
import type { ReleaseLink } from '../machines/busSupervisorChildren.js';
import type { BusSupervisorEvent, BusSupervisorInput } from '../machines/busSupervisorModel.js';
import type { GatewayClock } from '../machines/clock.js';
import { deviceStatusOf } from '../machines/connectionModel.js';
import type { GatewayNotice, NoticeSink } from '../machines/notices.js';
import { type RootEvent, rootSupervisorMachine } from '../machines/rootSupervisor.js';
import type { BusRegistry } from './busRegistry.js';
import { stopInReverse } from './orderlyStop.js';
import { type BoundConnectionMachine, bindConnectionMachine } from './deviceActors.js';
import type { BusEvent } from '../drivers/contract.js';
import {
  BusSnapshotWriter,
  type BusSnapshotPort,
  busLogger,
  restoreDecision,
  restoreProblem,
  type StoredBusSnapshot,
  watchChanges,
} from './snapshotPort.js';
import { errorText } from '../errorText.js';

// Binds the supervisor machines to I/O: bus runtimes from the registry, the outlets to the gateway's
// notice sink, and the hosting of each bus supervisor in an actor system of its own. The result is
// the one root logic the gateway (and the tests) start, plus a live view of the bus actors.
// With a snapshot port, each bus host also saves its supervisor (devices included) after it changed,
// once per tick, and restores it the first time it starts: the bus is opened, the snapshot restored,
// and `RESUME` re-arms every timer from the deadlines in context. A snapshot that does not fit (another
// version, another config, corrupt) is discarded with a log line and the bus starts afresh.

export interface SupervisorTreeOptions {
  registry: BusRegistry;
  sink: NoticeSink;
  clock: GatewayClock;
  /** Replaces the bound device logic, e.g. with one that has a bug injected (tests of crash handling). */
  decorateDevice?: (logic: BoundConnectionMachine) => BoundConnectionMachine;
  /** Observes every actor of every bus system (the Stately inspector, tests). */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /**
   * Where bus supervisors (with their devices) are saved, once per tick after they changed, and
   * restored from when the tree starts. Without it nothing is persisted.
   */
  snapshots?: BusSnapshotPort;
  /** The MQTT link the root supervisor runs (and replaces if it fails). */
  mqtt?: { run(onFailure: (reason: string) => void): () => void };
  /**
   * At `shutdown`, how long each device gets to release its link and each bus to close (default
   * 1 s); one that takes longer is left behind, as an OTP child past its `shutdown` time.
   */
  shutdownMs?: number;
}

const DEFAULT_SHUTDOWN_MS = 1_000;

/** The stored snapshot of a bus; a store that cannot be read means starting afresh, not crashing. */
function loadSnapshot(port: BusSnapshotPort, busId: string): StoredBusSnapshot | undefined {
  try {
    return port.load(busId);
  } catch (error) {
    busLogger(busId).warn(`could not load the snapshot of the bus: ${errorText(error)}; it starts afresh`);
    return undefined;
  }
}

/** "3 devices: 1 offline, 2 reconnecting", from a restored supervisor before it resumes. */
function summarize(actor: AnyActorRef): string {
  const children = (actor.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children;
  const counts = new Map<string, number>();
  let devices = 0;
  for (const child of Object.values(children)) {
    if (child?.src !== 'device') continue;
    devices += 1;
    const status = deviceStatusOf((child.getSnapshot() as { value: unknown }).value);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  const parts = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([status, n]) => `${n} ${status}`);
  return `${devices} device${devices === 1 ? '' : 's'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

function toSupervisorEvent(event: BusEvent): BusSupervisorEvent {
  if (event.type === 'lost')
    return { type: 'BUS_LOST', error: event.error, ...(event.logged ? { logged: true as const } : {}) };
  if (event.type === 'present') return { type: 'BUS_PRESENT' };
  if (event.type === 'recover') {
    return { type: 'RECOVER', deviceId: event.deviceId, step: null, reason: event.reason };
  }
  const { deviceId, event: link } = event;
  switch (link.type) {
    case 'lost':
      return {
        type: 'DEVICE_EVENT',
        deviceId,
        event: { type: 'LINK_LOST', error: link.error, ...(link.logged ? { busLinkDown: true } : {}) },
      };
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
        process.emitWarning(`notice sink failed: ${errorText(error)}`);
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
  type BusActor = Actor<typeof busLogic>;
  const { snapshots } = options;
  const writer = snapshots ? new BusSnapshotWriter(snapshots) : undefined;
  /**
   * Buses hosted before by this tree. Only a bus's first start restores its snapshot: a bus the root
   * restarts (it escalated or crashed) starts from scratch, as it always has.
   */
  const hosted = new Set<string>();
  const inspectOption = inspect ? { inspect } : {};
  const shutdownMs = options.shutdownMs ?? DEFAULT_SHUTDOWN_MS;
  /** How each hosted bus shuts down, in the order the buses (re)started. */
  const hosts = new Map<string, { devices: () => number; shutdown: () => Promise<void> }>();

  const hostBus = fromCallback<BusSupervisorEvent, BusSupervisorInput>(({ input, receive, sendBack }) => {
    const { busId } = input;
    const log = busLogger(busId);
    let actor: BusActor | undefined;
    let detach = () => {};
    let disposed = false;
    /** Events that arrive while a bus to restore is being opened; sent once its supervisor runs. */
    let held: BusSupervisorEvent[] | undefined;
    let reported = false;
    const report = (reason: string) => {
      if (reported) return;
      reported = true;
      sendBack({ type: 'BUS_FAILED', busId, reason });
    };
    const crashed = (error: unknown) => report(`supervisor crashed: ${errorText(error)}`);

    /** Makes `created` this bus's supervisor: watched for failure, and for changes to save. */
    const attach = (created: BusActor, onError: (error: unknown) => void) => {
      actor = created;
      buses.set(busId, created);
      const subscription = created.subscribe({
        next: (snapshot) => {
          if (snapshot.matches({ lifecycle: 'failed' })) report(snapshot.context.failure ?? 'bus stopped');
        },
        error: onError,
      });
      const unwatch = writer ? watchChanges(created, () => writer.markDirty(busId, created)) : () => {};
      detach = () => {
        subscription.unsubscribe();
        unwatch();
      };
    };
    const startFresh = () => {
      const created = createActor(busLogic, { input, clock, ...inspectOption });
      attach(created, crashed);
      created.start();
    };
    const discard = (reason: string, level: 'info' | 'warn') => {
      log[level](`discarded the snapshot of the bus: ${reason}; the bus starts afresh`);
      try {
        snapshots?.remove(busId);
      } catch (error) {
        log.warn(`could not remove the snapshot of the bus: ${errorText(error)}`);
      }
    };
    /** Restores the supervisor (its bus is open), or discards the snapshot and starts afresh. */
    const resume = (snapshot: object) => {
      let failure: { error: unknown } | undefined;
      let created: BusActor | undefined;
      try {
        created = createActor(busLogic, {
          input,
          snapshot: snapshot as Snapshot<unknown>,
          clock,
          ...inspectOption,
        });
        const problem = restoreProblem(created);
        if (problem !== null) throw new Error(problem);
        const restored = summarize(created);
        let restoring = true;
        attach(created, (error) => (restoring ? (failure = { error }) : crashed(error)));
        created.start();
        created.send({ type: 'RESUME' });
        restoring = false;
        if (failure) throw failure.error;
        log.info(`restored the bus from its snapshot: ${restored}`);
      } catch (error) {
        detach();
        writer?.forget(busId);
        created?.stop();
        discard(`restoring it failed: ${errorText(error)}`, 'warn');
        startFresh();
      }
    };
    const release = () => {
      const events = held ?? [];
      held = undefined;
      for (const event of events) actor?.send(event);
    };

    const decision =
      !hosted.has(busId) && snapshots ? restoreDecision(input, loadSnapshot(snapshots, busId)) : null;
    hosted.add(busId);
    if (decision && !decision.restore && decision.reason !== null) discard(decision.reason, decision.level);
    if (!decision?.restore) startFresh();
    else {
      // A restored supervisor is already `running`: it does not open its bus, so the bus is opened first.
      held = [];
      registry
        .openBus(busId)
        .then(
          () => {
            if (!disposed) resume(decision.snapshot);
            release();
          },
          (error: unknown) => {
            if (disposed) return;
            log.warn(`could not open the bus to restore it: ${errorText(error)}; the bus starts afresh`);
            startFresh();
            release();
          },
        )
        // Restoring handles its own failures; anything else is a bug, treated like a crashed supervisor.
        .catch(crashed);
    }
    receive((event) => (held ? held.push(event) : actor?.send(event)));
    /** Stops the supervisor (its devices with it); returns the devices it ran, in start order. */
    const dispose = (): readonly string[] => {
      if (disposed) return [];
      disposed = true;
      detach();
      const running = actor?.getSnapshot().context.running ?? [];
      // A graceful stop saves the bus as it was; after a crash, the last tick's save is what remains.
      writer?.flush(busId);
      actor?.stop();
      if (actor && buses.get(busId) === actor) buses.delete(busId);
      if (hosts.get(busId) === host) hosts.delete(busId);
      return running;
    };
    const host = {
      devices: () => actor?.getSnapshot().context.running.length ?? 0,
      // The devices release their links the last started first, then the bus closes; each bounded.
      shutdown: async () => {
        const runtime = registry.find(busId);
        const running = dispose();
        if (runtime) {
          const devices = running.map((deviceId) => ({
            id: deviceId,
            stop: () => runtime.disconnect(deviceId),
          }));
          await stopInReverse(devices, {
            clock,
            shutdownMs,
            onProblem: (deviceId, problem) => log.warn(`shutdown of ${deviceId}: ${problem}`),
          });
        }
        await registry.closeBus(busId);
      },
    };
    hosts.delete(busId);
    hosts.set(busId, host);
    return () => void dispose();
  });

  /**
   * Shuts the buses down the last started first, each in turn (its devices, then the bus) and each
   * within its bound: `shutdownMs` per device and for closing the bus. The root is stopped after it.
   */
  const shutdown = () =>
    stopInReverse(
      [...hosts].map(([busId, host]) => ({
        id: busId,
        stop: host.shutdown,
        shutdownMs: shutdownMs * (host.devices() + 1),
      })),
      {
        clock,
        shutdownMs,
        onProblem: (busId, problem) => busLogger(busId).warn(`shutdown: ${problem}`),
      },
    );

  const { mqtt } = options;
  const actors = { bus: hostBus, outlet: outletLogic(sink) };
  const logic = rootSupervisorMachine.provide({
    actors: mqtt
      ? {
          ...actors,
          mqttLink: fromCallback<RootEvent>(({ sendBack }) =>
            mqtt.run((reason) => sendBack({ type: 'MQTT_FAILED', reason })),
          ),
        }
      : actors,
  });
  return { logic, buses, shutdown };
}

export type SupervisorTree = ReturnType<typeof bindSupervisorTree>;
