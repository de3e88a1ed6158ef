import { type Capability, light, numeric } from './capabilities.js';

// A device of the `simulated` driver: a small climate sensor with a dimmable light (its state carries
// the lamp's `state` and `brightness`). Devices of the other drivers simulate their own protocol and
// have their own driver's capabilities.

export const SIMULATED_LIGHT = light({ brightness: { max: 254 }, transition: true });

export function simulatedCapabilities(): Capability[] {
  return [
    numeric('temperature', { deviceClass: 'temperature', unit: '°C', stateClass: 'measurement' }),
    numeric('humidity', { deviceClass: 'humidity', unit: '%', stateClass: 'measurement' }),
    numeric('energy', { deviceClass: 'energy', unit: 'Wh', stateClass: 'total_increasing' }),
    SIMULATED_LIGHT,
  ];
}
