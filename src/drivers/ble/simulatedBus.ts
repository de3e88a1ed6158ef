import type { DeviceConfig } from '../../config/index.js';
import { getLogger } from '../../logging/index.js';
import type { BusRuntime, OpenContext } from '../contract.js';
import { openSimulatedBus } from '../shared/simulatedBus.js';
import { bleDriver } from './index.js';
import { type BleDevice, bleDevices, openOn } from './openBus.js';
import { findDbusDaemon } from './dbusDaemon.js';
import { type SensorSpec, sensorSpec } from './simulator/sensors.js';
import { BluezSimulator } from './simulator/simulator.js';

// `transport: simulated`: the bluez transport's runtime on a fake BlueZ started in this process on a
// private dbus-daemon, with a simulated sensor for every configured one (and three demo sensors when
// none is configured, for auto_add to find), so the demo and the tests exercise the whole D-Bus path
// without Bluetooth. Without dbus-daemon, the generic simulated device. Loaded only when a config has
// a simulated BLE line.

interface RunningSimulator {
  simulator: BluezSimulator;
  started: Promise<void>;
}

/**
 * The fake BlueZ of each simulated bus of one gateway (its OpenContext), kept across bus restarts (an
 * auto-added sensor restarts the bus; the sensors must stay the same) and stopped with the gateway.
 */
const simulatorsOf = new WeakMap<OpenContext, Map<string, RunningSimulator>>();

/** The fake BlueZ of each simulated bus of this context (tests make its sensors advertise). */
export function simulatedBluezOf(context: OpenContext): Map<string, RunningSimulator> {
  let simulators = simulatorsOf.get(context);
  if (simulators === undefined) {
    const created = new Map<string, RunningSimulator>();
    simulators = created;
    simulatorsOf.set(context, created);
    context.onClose(async () => {
      const running = [...created.values()];
      created.clear();
      await Promise.all(running.map(({ simulator }) => simulator.stop().catch(() => undefined)));
    });
  }
  return simulators;
}

/** Sensor n of a simulated bus whose config gives no MAC (stable across restarts: by position). */
const simulatedSpec = (index: number) => sensorSpec('bthome', 200 + index);

function sensorsFor(sensors: readonly BleDevice[]): SensorSpec[] {
  let unnamed = 0;
  return sensors.map((device) => {
    if (device.mac === undefined) return simulatedSpec(unnamed++);
    const base = sensorSpec('bthome', 300);
    return {
      ...base,
      mac: device.mac,
      name: device.name ?? `BTHome ${device.mac.slice(-5)}`,
      ...(device.bind_key ? { bindKey: device.bind_key } : {}),
    };
  });
}

/**
 * The fake BlueZ of `busId` in this gateway, started on first use with `specs` (the demo's sensors when
 * none), else given the sensors of `specs` it lacks. Connected devices of another driver on the same
 * simulated adapter use it too, so they share the radio with the sensors as in the field.
 */
export function sharedSimulator(
  context: OpenContext,
  busId: string,
  specs: readonly SensorSpec[],
): RunningSimulator {
  const simulators = simulatedBluezOf(context);
  let running = simulators.get(busId);
  if (running === undefined) {
    const logger = getLogger(`${busId}.bluez-sim`);
    const simulator = new BluezSimulator({
      // Nothing configured yet: sensors of every kind for auto_add (or a scan) to find.
      sensors:
        specs.length > 0 ? specs : [sensorSpec('bthome', 1), sensorSpec('ruuvi', 1), sensorSpec('pvvx', 1)],
      log: (line) => logger.debug(line),
    });
    const created: RunningSimulator = { simulator, started: simulator.start() };
    created.started.catch(() => {
      // The next open tries again (the error reaches the devices through the failed bring-up).
      if (simulators.get(busId) === created) simulators.delete(busId);
    });
    running = created;
    simulators.set(busId, running);
  } else {
    const known = new Set(running.simulator.sensors.map((sensor) => sensor.spec.mac));
    for (const spec of specs) if (!known.has(spec.mac)) running.simulator.addSensor(spec);
  }
  return running;
}

/** The simulated bus, or the generic simulated device when dbus-daemon is not installed. */
export function openSimulatedBleBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): BusRuntime {
  if (findDbusDaemon() === undefined)
    return openSimulatedBus(busId, devices, context, false, bleDriver.definition.recoverySteps);
  const ble = bleDevices(devices);
  const sensors = ble.filter((device) => device.role !== 'adapter');
  const specs = sensorsFor(sensors);
  const running = sharedSimulator(context, busId, specs);
  const current = running;
  return openOn(
    busId,
    ble,
    context,
    async () => {
      await current.started;
      return current.simulator.address;
    },
    (_device, index) => specs[index]?.mac,
  );
}
