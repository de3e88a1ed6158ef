import type { HeardSensor } from './sensors.js';
import { errorText } from '../../errorText.js';

// Where BLE bus runtimes report sensors nobody configured, the first time each one is heard: the gateway
// listens here to add them as devices (auto_add) without the runtimes knowing about the config, the
// database or the other buses. A runtime is made by the driver catalogue from its devices alone, which
// is why this is one process-wide hub rather than a constructor argument.

type Listener = (sensor: HeardSensor) => void;

class HeardSensorHub {
  readonly #listeners = new Set<Listener>();

  /** Returns the function that stops listening. */
  listen(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  report(sensor: HeardSensor): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(sensor);
      } catch (error) {
        // A listener's bug must not stop the runtime that heard the sensor.
        process.emitWarning(`BLE heard-sensor listener failed: ${errorText(error)}`);
      }
    }
  }
}

export const heardBleSensors = new HeardSensorHub();
