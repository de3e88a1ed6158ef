// What a device looks like to Home Assistant: the entities derived from the capabilities a driver
// declares for a device (src/drivers/shared/capabilities.ts). Each one reads its value from the
// device's retained state topic (`<base>/<id>`, JSON) under `key`; an event, from the device's event
// topic (`<base>/<id>/event`).

export type EntityComponent = 'sensor' | 'binary_sensor' | 'light' | 'switch' | 'scene' | 'event';

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
  /** Enum sensors (device class `enum`): every state the value can take. */
  options?: readonly string[];
  /** Lights: the brightness value that means full on (HA's `brightness_scale`); absent: on/off only. */
  brightnessScale?: number;
  /** Lights: the one colour mode besides brightness (HA then needs no `color_mode` in the state). */
  colorMode?: 'color_temp' | 'hs' | 'rgbw';
  /** color_temp lights: the warmest and coolest colour temperature the light takes, in kelvin. */
  minKelvin?: number;
  maxKelvin?: number;
  /** Scenes: what the entity publishes on the device's `set` topic to recall it. */
  commandPayload?: string;
  /** Events: the event types a report may name under `key`. */
  eventTypes?: readonly string[];
}

/** The device registry entry of a device. */
export interface DeviceDescription {
  manufacturer: string;
  model: string;
  /** Seconds without a fresh state after which HA shows the entities unavailable. */
  expireAfterS: number;
}
