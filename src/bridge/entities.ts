// What a device looks like to Home Assistant: the entities a driver declares for a device. Each one
// reads its value from the device's retained state topic (`<base>/<id>`, JSON) under `key`.

export type EntityComponent = 'sensor' | 'binary_sensor' | 'light';

export interface EntityDescriptor {
  component: EntityComponent;
  /** Unique within the device; part of the unique id and the discovery topic. */
  objectId: string;
  name: string;
  /** Key of the value in the device's state JSON (lights use `state` and `brightness`). */
  key: string;
  deviceClass?: string;
  unit?: string;
  stateClass?: 'measurement' | 'total' | 'total_increasing';
  entityCategory?: 'diagnostic' | 'config';
  icon?: string;
  /** Lights: the brightness value that means full on (HA's `brightness_scale`). */
  brightnessScale?: number;
}

/** The device registry entry of a device. */
export interface DeviceDescription {
  manufacturer: string;
  model: string;
  /** Seconds without a fresh state after which HA shows the entities unavailable. */
  expireAfterS: number;
}

/**
 * The entities of a device of the `simulated` driver: a small climate sensor with a dimmable light
 * (its state carries the lamp's `state` and `brightness`). Devices of the other drivers simulate their
 * own protocol and have their own driver's entities.
 */
export function simulatedEntities(): EntityDescriptor[] {
  return [
    {
      component: 'sensor',
      objectId: 'temperature',
      name: 'Temperature',
      key: 'temperature',
      deviceClass: 'temperature',
      unit: '°C',
      stateClass: 'measurement',
    },
    {
      component: 'sensor',
      objectId: 'humidity',
      name: 'Humidity',
      key: 'humidity',
      deviceClass: 'humidity',
      unit: '%',
      stateClass: 'measurement',
    },
    {
      component: 'sensor',
      objectId: 'energy',
      name: 'Energy',
      key: 'energy',
      deviceClass: 'energy',
      unit: 'Wh',
      stateClass: 'total_increasing',
    },
    { component: 'light', objectId: 'light', name: 'Light', key: 'state', brightnessScale: 254 },
  ];
}
