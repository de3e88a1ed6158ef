import { getLogger } from '../../../../logging/index.js';
import type { OpenContext } from '../../../contract.js';
import { perGateway } from '../../perGateway.js';
import { type SensorSpec, sensorSpec } from './sensors.js';
import { BluezSimulator } from './simulator.js';

// The fake BlueZ of a gateway's simulated adapter, shared by every Bluetooth driver on it: the sensors
// a BLE line listens to and the devices another driver connects to share one radio, as in the field.

/** The key of the simulated adapter (every simulated Bluetooth bus of a gateway is on it). */
export const SIMULATED_ADAPTER = 'simulated';

export interface RunningSimulator {
  simulator: BluezSimulator;
  started: Promise<void>;
}

/**
 * The fake BlueZ of each simulated bus of one gateway (its OpenContext), kept across bus restarts (an
 * auto-added sensor restarts the bus; the sensors must stay the same) and stopped with the gateway.
 */
/** The fake BlueZ of each simulated adapter of this context (tests make its sensors advertise). */
export const simulatedBluezOf: (context: OpenContext) => Map<string, RunningSimulator> =
  perGateway<RunningSimulator>(async (running) => {
    await Promise.all(running.map(({ simulator }) => simulator.stop().catch(() => undefined)));
  });

/**
 * The fake BlueZ of `adapter` in this gateway, started on first use with `specs` (the demo's sensors when
 * none), else given the sensors of `specs` it lacks. Connected devices of another driver on the same
 * simulated adapter use it too, so they share the radio with the sensors as in the field.
 */
export function sharedSimulator(
  context: OpenContext,
  adapter: string,
  specs: readonly SensorSpec[],
): RunningSimulator {
  const simulators = simulatedBluezOf(context);
  let running = simulators.get(adapter);
  if (running === undefined) {
    const logger = getLogger(`bluez-sim:${adapter}`);
    const simulator = new BluezSimulator({
      // Nothing configured yet: sensors of every kind for auto_add (or a scan) to find.
      sensors:
        specs.length > 0 ? specs : [sensorSpec('bthome', 1), sensorSpec('ruuvi', 1), sensorSpec('pvvx', 1)],
      log: (line) => logger.debug(line),
    });
    const created: RunningSimulator = { simulator, started: simulator.start() };
    created.started.catch(() => {
      // The next open tries again (the error reaches the devices through the failed bring-up).
      if (simulators.get(adapter) === created) simulators.delete(adapter);
    });
    running = created;
    simulators.set(adapter, running);
  } else {
    const known = new Set(running.simulator.sensors.map((sensor) => sensor.spec.mac));
    for (const spec of specs) if (!known.has(spec.mac)) running.simulator.addSensor(spec);
  }
  return running;
}
