// What every BLE advertisement decoder returns: one shape for BTHome, Ruuvi and the Xiaomi ATC/pvvx
// firmwares, so the BLE driver publishes readings and builds Home Assistant entities the same way
// whatever the sensor speaks.

export type BleFormat = 'bthome' | 'ruuvi' | 'atc1441' | 'pvvx';

/** A decoded value; null when the sensor says "not available" (Ruuvi's reserved values). */
export type BleValue = number | boolean | string | null;

export type HaComponent = 'sensor' | 'binary_sensor';

export type HaStateClass = 'measurement' | 'total' | 'total_increasing';

/** What Home Assistant discovery needs to know about one value. */
export interface ValueMeta {
  component: HaComponent;
  /** A Home Assistant device class (sensor or binary_sensor), absent when none fits ("count", "text"). */
  deviceClass?: string;
  /** The unit the value is in, as Home Assistant spells it ("°C", "µg/m³", "m³/h"). */
  unit?: string;
  /** Absent for values that are not statistics (timestamps, text). */
  stateClass?: HaStateClass;
  /** A value about the sensor rather than the world (tx power, sequence numbers): entity_category diagnostic. */
  diagnostic?: boolean;
}

/** A stateless happening (BTHome buttons and dimmers): published as a Home Assistant event, not a state. */
export interface BleEvent {
  /** "button", or "button_1", "button_2"… when one advertisement carries several buttons. */
  key: string;
  type: 'button' | 'dimmer';
  /** "press", "double_press", "triple_press", "long_press", …, "hold_press"; "rotate_left", "rotate_right". */
  event: string;
  /** Dimmer events: how many steps the knob was turned. */
  steps?: number;
}

export interface BleReading {
  format: BleFormat;
  /**
   * The measurements, keyed by name ("temperature", "humidity", "voltage_1"…). When one advertisement
   * carries several values of the same name, each gets a suffix _1, _2… in payload order (as bthome-ble
   * names them).
   */
  values: Record<string, BleValue>;
  /** Home Assistant metadata of every key in `values`, with the unit the value is actually in. */
  meta: Record<string, ValueMeta>;
  /** BTHome button and dimmer events, in payload order; empty for the other formats. */
  events: BleEvent[];
  /**
   * For dropping repeated advertisements (see PacketIdFilter): BTHome's packet id (object 0x00), the
   * ATC/pvvx measurement counter (both wrap at 256), Ruuvi's measurement sequence (wraps at 65536).
   * Absent when the advertisement has none.
   */
  packetId?: number;
  /** The payload was encrypted (BTHome) and has been decrypted with the bind key. */
  encrypted: boolean;
  /** BTHome encryption counter (replay protection is the caller's: it should only grow). */
  encryptionCounter?: number;
  /** BTHome "trigger based" flag: the device sends only on change, not at a regular interval. */
  triggerBased?: boolean;
  /** The device's MAC as the payload states it (BTHome with the MAC flag, Ruuvi, ATC/pvvx). */
  mac?: string;
  /** BTHome object 0xF0. */
  deviceTypeId?: number;
  /** BTHome objects 0xF1 ("4.2.1.0") and 0xF2 ("6.1.0"). */
  firmwareVersion?: string;
  /**
   * Parts of the advertisement that were skipped without failing the whole reading: an unknown BTHome
   * object id (and everything after it, whose length cannot be known), text that is not UTF-8, an
   * unknown button event. Meant for a debug log, not for every packet at info level.
   */
  warnings: string[];
}
