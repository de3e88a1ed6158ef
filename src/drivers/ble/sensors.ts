import type { JsonValue } from '../contract.js';
import {
  BleDecodeError,
  type BleFormat,
  type BleReading,
  decodeAdvertisement,
  PacketIdFilter,
  sensorMetadata,
} from './codec/index.js';
import type { DeviceProps } from '../shared/bluez/dbus/values.js';

// From a Device1's advertisement data to what the gateway publishes: decoded with the sensor's bind key,
// repeats dropped by packet id, and the reading shaped as the device's state (its values, `rssi`,
// `format`, the `events` of buttons when any). Sensors nobody configured are remembered as "heard" (for
// auto-add and scans). Key trouble is said once per MAC, with what to do about it, never per packet.

export interface BleSensorSpec {
  deviceId: string;
  /** AA:BB:CC:DD:EE:FF, upper case. */
  mac: string;
  bindKey?: string | undefined;
  /** Not heard for this long: the sensor is reported lost (0: never). */
  offlineAfterMs: number;
}

/** A sensor heard on the adapter, in a format the codec knows. */
export interface HeardSensor {
  busId: string;
  adapter: string;
  mac: string;
  name: string | undefined;
  format: BleFormat;
  /** Encrypted BTHome: decodable only with its bind key. */
  encrypted: boolean;
  rssi: number | undefined;
  /** The configured device it belongs to, if any. */
  deviceId: string | undefined;
  lastHeardAt: number;
}

export type DecodeOutcome =
  | { kind: 'reading'; deviceId: string; result: JsonValue }
  /** A configured sensor's advertisement that cannot be read (bad data, a key problem): a failure. */
  | { kind: 'problem'; deviceId: string; error: string }
  | { kind: 'none' };

const KEY_PROBLEMS = new Set(['missing_key', 'decrypt_failed', 'not_encrypted']);

function keyAdvice(code: string, deviceId: string | undefined, mac: string): string {
  const who = deviceId ? `sensor ${deviceId} (${mac})` : `BLE sensor ${mac}`;
  switch (code) {
    case 'missing_key':
      return `${who} sends encrypted BTHome advertisements: add its bind_key (32 hex digits, from the device's BTHome settings) to its entry under devices: to read it`;
    case 'decrypt_failed':
      return `the bind_key of ${who} does not decrypt its advertisements: check the key (a wrong key, or the device was re-keyed)`;
    default:
      return `${who} is configured with a bind_key but sends unencrypted advertisements; they are refused (anyone could send them under its address): remove bind_key if the device really does not encrypt`;
  }
}

/** Units that differ from what a key usually has (BTHome mass in lb, …), for Home Assistant. */
function unusualUnits(reading: BleReading): Record<string, string> | undefined {
  const units: Record<string, string> = {};
  for (const [key, meta] of Object.entries(reading.meta)) {
    const usual = sensorMetadata(key, reading.values[key] ?? null)?.unit;
    if (meta.unit !== undefined && meta.unit !== usual) units[key] = meta.unit;
  }
  return Object.keys(units).length > 0 ? units : undefined;
}

function stateOf(reading: BleReading, rssi: number | undefined): JsonValue {
  const state: Record<string, JsonValue> = { ...reading.values, format: reading.format };
  if (rssi !== undefined) state.rssi = rssi;
  if (reading.events.length > 0) {
    state.events = reading.events.map((event) => ({
      key: event.key,
      type: event.type,
      event: event.event,
      ...(event.steps === undefined ? {} : { steps: event.steps }),
    }));
  }
  const units = unusualUnits(reading);
  if (units) state.units = units;
  return state;
}

export class SensorDecoder {
  readonly #byMac = new Map<string, BleSensorSpec>();
  readonly #filter = new PacketIdFilter();
  readonly #heard = new Map<string, HeardSensor>();
  /** The strongest RSSI each unconfigured sensor was reported with (auto_add weighs it). */
  readonly #reportedRssi = new Map<string, number>();
  /** MACs whose key trouble was already said. */
  readonly #advised = new Set<string>();
  readonly #problems = new Map<string, string>();

  constructor(
    private readonly where: { busId: string; adapter: string },
    sensors: readonly BleSensorSpec[],
    private readonly warn: (message: string) => void,
  ) {
    for (const sensor of sensors) this.#byMac.set(sensor.mac.toUpperCase(), sensor);
  }

  sensor(mac: string): BleSensorSpec | undefined {
    return this.#byMac.get(mac);
  }

  /** Every sensor heard (in a known format) since the bus opened. */
  heard(): HeardSensor[] {
    return [...this.#heard.values()];
  }

  /** The last key problem of a sensor, for the reason it is reported silent. */
  problemOf(mac: string): string | undefined {
    return this.#problems.get(mac);
  }

  /**
   * One advertisement of `mac`. `isNew` is called the first time a sensor without a configured device is
   * heard in a known format (auto-add, scans), and again each time it is heard stronger than before:
   * auto_add takes only sensors near enough, and one first heard faintly may come closer.
   */
  decode(mac: string, props: DeviceProps, now: number, isNew: (heard: HeardSensor) => void): DecodeOutcome {
    const spec = this.#byMac.get(mac);
    let reading: BleReading | undefined;
    let encrypted = false;
    try {
      reading = decodeAdvertisement({
        mac,
        ...(props.serviceData ? { serviceData: props.serviceData } : {}),
        ...(props.manufacturerData ? { manufacturerData: props.manufacturerData } : {}),
        ...(spec?.bindKey ? { bindKey: spec.bindKey } : {}),
      });
    } catch (error) {
      if (!(error instanceof BleDecodeError)) throw error;
      if (KEY_PROBLEMS.has(error.code)) {
        const advice = keyAdvice(error.code, spec?.deviceId, mac);
        this.#problems.set(mac, advice);
        // An unknown sensor without a key is still worth adding: its device then says what is missing.
        if (spec && !this.#advised.has(mac)) {
          this.#advised.add(mac);
          this.warn(advice);
        }
        encrypted = error.code !== 'not_encrypted';
        if (!spec) this.#remember(mac, props, 'bthome', encrypted, now, isNew);
        return spec ? { kind: 'problem', deviceId: spec.deviceId, error: advice } : { kind: 'none' };
      }
      return spec
        ? { kind: 'problem', deviceId: spec.deviceId, error: `undecodable advertisement: ${error.message}` }
        : { kind: 'none' };
    }
    if (reading === undefined) return { kind: 'none' };
    this.#problems.delete(mac);
    this.#remember(mac, props, reading.format, reading.encrypted, now, isNew);
    if (!spec || !this.#filter.accept(mac, reading, now)) return { kind: 'none' };
    return { kind: 'reading', deviceId: spec.deviceId, result: stateOf(reading, props.rssi) };
  }

  #remember(
    mac: string,
    props: DeviceProps,
    format: BleFormat,
    encrypted: boolean,
    now: number,
    isNew: (heard: HeardSensor) => void,
  ): void {
    const known = this.#heard.get(mac);
    const heard: HeardSensor = {
      ...this.where,
      mac,
      name: props.name,
      format,
      encrypted,
      rssi: props.rssi,
      deviceId: this.#byMac.get(mac)?.deviceId,
      lastHeardAt: now,
    };
    this.#heard.set(mac, heard);
    if (heard.deviceId !== undefined) return;
    const reported = this.#reportedRssi.get(mac);
    const stronger = props.rssi !== undefined && (reported === undefined || props.rssi > reported);
    if (stronger) this.#reportedRssi.set(mac, props.rssi as number);
    if (!known || stronger) isNew(heard);
  }
}
