import { createActor } from 'xstate';
import { BusRegistry } from '../../src/hosting/busRegistry.js';
import type { BoundConnectionMachine } from '../../src/hosting/deviceActors.js';
import type { RecoveryStepSpec } from '../../src/drivers/contract.js';
import { SimulatedBusRuntime, type SimulationOptions } from '../../src/drivers/shared/simulatedRuntime.js';
import type { BusSnapshotPort } from '../../src/hosting/snapshotPort.js';
import { bindSupervisorTree } from '../../src/hosting/supervisorActors.js';
import type { DeviceSpec } from '../../src/machines/busSupervisorModel.js';
import type { GatewayNotice } from '../../src/machines/notices.js';
import {
  DEFAULT_DEVICE_POLICY,
  DEFAULT_SUPERVISOR_POLICY,
  type DevicePolicy,
  type RestartType,
  type SupervisorPolicy,
} from '../../src/machines/policy.js';
import { simulatedClock } from './time.js';

export interface TreeBus {
  busId: string;
  devices: { id: string; restart?: RestartType; simulation?: Partial<SimulationOptions> }[];
  policy?: Partial<SupervisorPolicy>;
  recoverySteps?: RecoveryStepSpec[];
  housekeepingMs?: number;
}

export const TEST_STEPS: RecoveryStepSpec[] = [
  { name: 'reopen' },
  { name: 'reenumerate', maxPerHour: 2 },
  { name: 'restart_actor' },
];

export interface TreeOptions {
  /** Where bus snapshots are saved and restored from. */
  snapshots?: BusSnapshotPort;
  /** Simulated time at start (a tree started after another one "crashed" continues its clock). */
  startAt?: number;
  /** At shutdown, the bound of each device and of each bus. */
  shutdownMs?: number;
}

/** One save, as the in-memory port recorded it. */
export interface RecordedSave {
  busId: string;
  version: number;
  /** Which tick (setImmediate round) it happened in, counted by the port. */
  tick: number;
}

/**
 * An in-memory BusSnapshotPort that stores JSON (as SQLite would, so nothing unserializable slips
 * through), records every save, and can be frozen to model a crash: nothing is written after it.
 */
export function memorySnapshotPort() {
  const stored = new Map<string, { version: number; json: string }>();
  const saves: RecordedSave[] = [];
  let frozen = false;
  let tick = 0;
  let ticking: NodeJS.Immediate | undefined;
  const port: BusSnapshotPort = {
    load: (busId) => {
      const entry = stored.get(busId);
      return entry && { version: entry.version, snapshot: JSON.parse(entry.json) as unknown };
    },
    save: (busId, version, snapshot) => {
      if (frozen) return;
      // Saves of one setImmediate round share a tick number; the next round gets the next one.
      ticking ??= setImmediate(() => {
        ticking = undefined;
        tick += 1;
      });
      saves.push({ busId, version, tick });
      stored.set(busId, { version, json: JSON.stringify(snapshot) });
    },
    remove: (busId) => {
      stored.delete(busId);
    },
  };
  return {
    port,
    saves,
    /** The process dies: the saves of past ticks are all that remains. */
    crash: () => {
      frozen = true;
    },
    /** The stored snapshot as the next process would load it. */
    snapshot: (busId: string) => port.load(busId)?.snapshot,
    /** Replaces a stored entry (tests of old versions and corrupt data). */
    put: (busId: string, version: number, snapshot: unknown) =>
      stored.set(busId, { version, json: JSON.stringify(snapshot) }),
  };
}

export type MemorySnapshotPort = ReturnType<typeof memorySnapshotPort>;

/** A whole supervision tree on simulated buses and a SimulatedClock, recording every notice. */
export function treeHarness(
  buses: TreeBus[],
  devicePolicy: Partial<DevicePolicy> = {},
  options: TreeOptions = {},
) {
  const clock = simulatedClock();
  if (options.startAt !== undefined) clock.set(options.startAt);
  const registry = new BusRegistry();
  const runtimes = new Map<string, SimulatedBusRuntime>();
  for (const bus of buses) {
    const runtime = new SimulatedBusRuntime(bus.busId, clock);
    runtime.recordCalls = true;
    for (const device of bus.devices) runtime.addDevice(device.id, device.simulation);
    runtimes.set(bus.busId, runtime);
    registry.define(bus.busId, () => runtime);
  }
  const notices: GatewayNotice[] = [];
  // A bug injected into the machine code: the next evaluation of one of its guards throws.
  const crashNext = new Set<string>();
  const decorateDevice = (logic: BoundConnectionMachine) =>
    logic.provide({
      guards: {
        degradedThresholdReached: ({ context }) => {
          if (crashNext.delete(context.deviceId)) throw new Error(`simulated bug in ${context.deviceId}`);
          return context.consecutiveFailures >= context.policy.health.failureThreshold;
        },
      },
    });
  const tree = bindSupervisorTree({
    registry,
    sink: (notice) => notices.push(notice),
    clock,
    decorateDevice,
    ...(options.snapshots ? { snapshots: options.snapshots } : {}),
    ...(options.shutdownMs === undefined ? {} : { shutdownMs: options.shutdownMs }),
  });
  const policy: DevicePolicy = { ...DEFAULT_DEVICE_POLICY, ...devicePolicy };
  const root = createActor(tree.logic, {
    clock,
    input: {
      restartBackoff: DEFAULT_SUPERVISOR_POLICY.restartBackoff,
      buses: buses.map((bus) => ({
        busId: bus.busId,
        driver: 'simulated',
        recoverySteps: bus.recoverySteps ?? TEST_STEPS,
        ...(bus.housekeepingMs === undefined ? {} : { housekeepingMs: bus.housekeepingMs }),
        policy: { ...DEFAULT_SUPERVISOR_POLICY, ...bus.policy },
        devices: bus.devices.map((d): DeviceSpec => ({
          deviceId: d.id,
          restart: d.restart ?? 'permanent',
          policy,
        })),
      })),
    },
  });
  root.start();
  const statusOf = (deviceId: string): string | undefined => {
    for (let i = notices.length - 1; i >= 0; i--) {
      const notice = notices[i];
      if (notice?.type === 'device.status' && notice.deviceId === deviceId) return notice.status;
    }
    return undefined;
  };
  return {
    clock,
    root,
    registry,
    notices,
    runtime: (busId: string) => runtimes.get(busId) as SimulatedBusRuntime,
    /** Makes the device actor throw (a bug in machine code) the next time it is connected and healthy. */
    crashNext: (deviceId: string) => crashNext.add(deviceId),
    /** Makes a connected, healthy device actor throw now: a crash, unlike a restart an operator asks for. */
    crash: (deviceId: string) => {
      crashNext.add(deviceId);
      root.send({ type: 'DEVICE_EVENT', deviceId, event: { type: 'LINK_FAILURE', error: 'poked' } });
    },
    /** The live context of a bus supervisor. */
    bus: (busId: string) => {
      const actor = tree.buses.get(busId);
      if (!actor) throw new Error(`bus ${busId} is not running`);
      return actor.getSnapshot().context;
    },
    /** The live actor of a bus supervisor (its children are the devices). */
    busActor: (busId: string) => {
      const actor = tree.buses.get(busId);
      if (!actor) throw new Error(`bus ${busId} is not running`);
      return actor;
    },
    statusOf,
    of: <T extends GatewayNotice['type']>(type: T) =>
      notices.filter((n): n is Extract<GatewayNotice, { type: T }> => n.type === type),
    stop: () => root.stop(),
    /** Shuts the buses down in order (as the gateway does before it stops the root). */
    shutdown: () => tree.shutdown(),
  };
}
