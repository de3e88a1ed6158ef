import { createActor, setup } from 'xstate';
import { BusRegistry } from '../src/hosting/busRegistry.js';
import { SimulatedBusRuntime } from '../src/drivers/shared/simulatedRuntime.js';
import { bindSupervisorTree } from '../src/hosting/supervisorActors.js';
import type { BusSupervisorInput } from '../src/machines/busSupervisorModel.js';
import { systemClock } from '../src/machines/clock.js';
import type { GatewayNotice } from '../src/machines/notices.js';
import { DEFAULT_DEVICE_POLICY, DEFAULT_SUPERVISOR_POLICY } from '../src/machines/policy.js';
import type { Figure } from './report.js';

// The supervision tree with simulated (fake) transports: 10,000 device actors, 100 per bus supervisor
// (one actor system per bus). Measures the time until every device actor is spawned and running, the
// heap each idle connected device costs, and how many events per second flow through the tree along
// the readings path (bus watcher → bus supervisor → device → outlet), against a bare XState actor.

const DEVICES = 10_000;
const PER_BUS = 100;
const EVENTS = 200_000;

function gc(): void {
  if (!global.gc) throw new Error('run with node --expose-gc (npm run bench does)');
  global.gc();
}

const until = async (done: () => boolean): Promise<void> => {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
};

/** Events per second a minimal one-state XState machine with one assign processes: the baseline. */
function rawXStateEventRate(): number {
  const counter = setup({ types: { context: {} as { n: number } } }).createMachine({
    context: { n: 0 },
    on: { TICK: { actions: ({ context }) => void context.n++ } },
  });
  const actor = createActor(counter).start();
  const begin = performance.now();
  for (let i = 0; i < EVENTS; i++) actor.send({ type: 'TICK' });
  const seconds = (performance.now() - begin) / 1000;
  actor.stop();
  return EVENTS / seconds;
}

export async function benchActorTree(): Promise<Figure[]> {
  const registry = new BusRegistry();
  const runtimes: SimulatedBusRuntime[] = [];
  const buses: BusSupervisorInput[] = [];
  for (let b = 0; b < DEVICES / PER_BUS; b++) {
    const busId = `bus${b}`;
    const runtime = new SimulatedBusRuntime(busId, systemClock);
    const devices = [];
    for (let d = 0; d < PER_BUS; d++) {
      const deviceId = `dev${b}_${d}`;
      runtime.addDevice(deviceId, { connectDelayMs: 0, operationDelayMs: 0 });
      devices.push({ deviceId, restart: 'permanent' as const, policy: DEFAULT_DEVICE_POLICY });
    }
    runtimes.push(runtime);
    registry.define(busId, () => runtime);
    buses.push({ busId, driver: 'simulated', recoverySteps: [], policy: DEFAULT_SUPERVISOR_POLICY, devices });
  }
  let connected = 0;
  let data = 0;
  const sink = (notice: GatewayNotice) => {
    if (notice.type === 'device.data') data++;
    else if (notice.type === 'device.status' && notice.status === 'connected.healthy') connected++;
  };
  const tree = bindSupervisorTree({ registry, sink, clock: systemClock });
  // Every bus supervisor spawns its devices on entering `running`, in one step.
  const spawned = () =>
    tree.buses.size === buses.length &&
    [...tree.buses.values()].every((bus) => bus.getSnapshot().matches({ lifecycle: 'running' }));

  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const begin = performance.now();
  const root = createActor(tree.logic, {
    clock: systemClock,
    input: { buses, restartBackoff: DEFAULT_SUPERVISOR_POLICY.restartBackoff },
  }).start();
  await until(spawned);
  const spawnMs = performance.now() - begin;
  await until(() => connected === DEVICES);
  const connectMs = performance.now() - begin;
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
  const heapPerDevice = (process.memoryUsage().heapUsed - heapBefore) / DEVICES;

  const eventsBegin = performance.now();
  for (let i = 0; i < EVENTS; i++) {
    const runtime = runtimes[i % runtimes.length] as SimulatedBusRuntime;
    runtime.pushData(`dev${i % runtimes.length}_${Math.floor(i / runtimes.length) % PER_BUS}`, i);
  }
  await until(() => data === EVENTS);
  const treeRate = EVENTS / ((performance.now() - eventsBegin) / 1000);
  root.stop();

  console.log(`  all ${DEVICES} devices connected after ${Math.round(connectMs)} ms`);
  return [
    {
      name: `spawn ${DEVICES} device actors`,
      value: spawnMs,
      unit: 'ms',
      baselineName: 'goal',
      baseline: 2_000,
      better: 'lower',
    },
    {
      name: 'heap per idle connected device',
      value: heapPerDevice / 1024,
      unit: 'KiB',
      baselineName: 'goal',
      baseline: 4,
      better: 'lower',
    },
    {
      name: 'readings through the tree',
      value: treeRate,
      unit: 'events/s',
      baselineName: 'bare XState actor',
      baseline: rawXStateEventRate(),
      better: 'higher',
    },
  ];
}
