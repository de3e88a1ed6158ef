import { seededRandom } from '../../random.js';
import {
  BTHOME_UUID,
  encodeBthome,
  encodePvvx,
  encodeRuuviDf5,
  macBytes,
  PVVX_UUID,
  RUUVI_COMPANY_ID,
} from './encode.js';

// The BLE sensors the fake BlueZ hears: who they are and what they advertise. Values are a function of
// the advertisement number and the seeded generator only (no clock), so a test that fixes the seed sees
// the same readings and bytes on every run. Values are rounded to what the format carries, so a decoder
// must give back exactly `values`.

export type SensorKind = 'bthome' | 'ruuvi' | 'pvvx';
export const SENSOR_KINDS: readonly SensorKind[] = ['bthome', 'ruuvi', 'pvvx'];

export interface SensorSpec {
  /** AA:BB:CC:DD:EE:FF, upper case (as BlueZ prints it). */
  mac: string;
  kind: SensorKind;
  /** The Device1 Name (the local name in the scan response). */
  name: string;
  /** BTHome only: 32 hex digits; the advertisements are then encrypted. */
  bindKey?: string;
  addressType: 'public' | 'random';
  /** Mean RSSI (dBm); each advertisement is within ±3 dB of it. */
  rssi: number;
  /** Mean temperature (°C) and relative humidity (%); they swing slowly around these. */
  temperature: number;
  humidity: number;
  /** Battery %. */
  battery: number;
}

/** What one advertisement carried, in physical units (Ruuvi adds pressure and acceleration). */
export interface SensorValues {
  temperature: number;
  humidity: number;
  battery: number;
  /** Battery voltage, V. */
  voltage: number;
  /** hPa (Ruuvi). */
  pressure?: number;
  /** mG (Ruuvi). */
  acceleration?: { x: number; y: number; z: number };
}

export interface Advertisement {
  /** 1 for the first advertisement of this sensor. */
  sequence: number;
  rssi: number;
  /** Device1.ServiceData: 128-bit UUID → bytes (empty for Ruuvi). */
  serviceData: Readonly<Record<string, Buffer>>;
  /** Device1.ManufacturerData: company id → bytes after it (empty unless Ruuvi). */
  manufacturerData: Readonly<Record<number, Buffer>>;
  values: SensorValues;
}

/** The key of BTHome's published encryption example; the first encrypted sensor uses it. */
export const EXAMPLE_BIND_KEY = '231d39c1d7cc1ab1aee224cd096db932';

/** Default sensors cycle through these: plain BTHome, Ruuvi, encrypted BTHome, pvvx. */
const DEFAULT_KINDS: readonly { kind: SensorKind; encrypted: boolean }[] = [
  { kind: 'bthome', encrypted: false },
  { kind: 'ruuvi', encrypted: false },
  { kind: 'bthome', encrypted: true },
  { kind: 'pvvx', encrypted: false },
];

function hex2(value: number): string {
  return (value & 0xff).toString(16).toUpperCase().padStart(2, '0');
}

function defaultAddress(kind: SensorKind, index: number, encrypted: boolean): string {
  const tail = `${hex2(index >> 8)}:${hex2(index)}`;
  // Ruuvi tags use random static addresses (top bits 11); the others the Xiaomi OUI A4:C1:38.
  if (kind === 'ruuvi') return `D5:4A:7B:6C:${tail}`;
  return `A4:C1:38:${encrypted ? 'E0' : kind === 'pvvx' ? 'B0' : '00'}:${tail}`;
}

function defaultName(kind: SensorKind, index: number, encrypted: boolean): string {
  if (kind === 'ruuvi') return `Ruuvi ${hex2(index >> 8)}${hex2(index)}`;
  if (kind === 'pvvx') return `ATC_${hex2(index)}`;
  return encrypted ? `BTHome secure ${index}` : `BTHome ${index}`;
}

/** The n-th (1-based) sensor of a kind, with plausible address, name and values (from the seed). */
export function sensorSpec(
  kind: SensorKind,
  index: number,
  options: { encrypted?: boolean; seed?: number } = {},
): SensorSpec {
  const random = seededRandom((options.seed ?? 1) * 7919 + index);
  const encrypted = kind === 'bthome' && (options.encrypted ?? false);
  const spec: SensorSpec = {
    mac: defaultAddress(kind, index, encrypted),
    kind,
    name: defaultName(kind, index, encrypted),
    addressType: kind === 'ruuvi' ? 'random' : 'public',
    // In the same flat: above auto_add's default threshold (-75 dBm) even with the ±3 dB of noise.
    rssi: -45 - Math.floor(random() * 25),
    temperature: Math.round((18 + random() * 6) * 10) / 10,
    humidity: Math.round(35 + random() * 25),
    battery: 60 + Math.floor(random() * 41),
  };
  if (encrypted) {
    const key = Array.from({ length: 16 }, () => hex2(Math.floor(random() * 256))).join('');
    spec.bindKey = index === 1 ? EXAMPLE_BIND_KEY : key.toLowerCase();
  }
  return spec;
}

/** `count` sensors of mixed kinds (see DEFAULT_KINDS), each with its own address. */
export function defaultSensors(count: number, seed = 1): SensorSpec[] {
  const seen = new Map<string, number>();
  return Array.from({ length: count }, (_, i) => {
    const { kind, encrypted } = DEFAULT_KINDS[i % DEFAULT_KINDS.length] ?? {
      kind: 'bthome',
      encrypted: false,
    };
    const group = `${kind}/${encrypted}`;
    const index = (seen.get(group) ?? 0) + 1;
    seen.set(group, index);
    return sensorSpec(kind, index, { encrypted, seed });
  });
}

function round(value: number, step: number): number {
  // Through an integer count of steps, so 21.005 stays 21.005 and not 21.004999….
  return Number((Math.round(value / step) * step).toFixed(6));
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** Battery % → a CR2032-like voltage (V), from 2.2 V empty to 3.0 V full. */
function batteryVoltage(percent: number): number {
  return 2.2 + (0.8 * percent) / 100;
}

export class SimSensor {
  readonly spec: SensorSpec;
  readonly #random: () => number;
  #sequence = 0;
  #movements = 0;
  #last: Advertisement | undefined;

  constructor(spec: SensorSpec, seed = 1) {
    macBytes(spec.mac);
    this.spec = { ...spec, mac: spec.mac.toUpperCase() };
    let hash = seed >>> 0;
    for (const byte of macBytes(spec.mac)) hash = (Math.imul(hash, 31) + byte) >>> 0;
    this.#random = seededRandom(hash);
  }

  /** The latest advertisement, undefined before the first. */
  get last(): Advertisement | undefined {
    return this.#last;
  }

  /** The next advertisement: new values, a new packet id/counter, new bytes. */
  next(): Advertisement {
    this.#sequence += 1;
    const n = this.#sequence;
    const spec = this.spec;
    const noise = () => this.#random() - 0.5;
    // A slow swing (one period every 120 advertisements) plus a little noise, as a room does.
    const swing = Math.sin((2 * Math.PI * n) / 120);
    const temperature = spec.temperature + 1.5 * swing + 0.1 * noise();
    const humidity = clamp(spec.humidity - 4 * swing + 0.5 * noise(), 0, 100);
    const battery = clamp(Math.round(spec.battery), 0, 100);
    const rssi = Math.round(spec.rssi + 6 * noise());
    const advertisement = this.#encode(n, rssi, temperature, humidity, battery);
    this.#last = advertisement;
    return advertisement;
  }

  #encode(n: number, rssi: number, temperature: number, humidity: number, battery: number): Advertisement {
    const spec = this.spec;
    if (spec.kind === 'ruuvi') {
      if (this.#random() < 0.05) this.#movements = (this.#movements + 1) % 255;
      const values: SensorValues = {
        temperature: round(temperature, 0.005),
        humidity: round(humidity, 0.0025),
        battery,
        voltage: round(batteryVoltage(battery), 0.001),
        pressure: round(1013.25 + 3 * Math.sin((2 * Math.PI * n) / 600), 0.01),
        acceleration: { x: Math.round(8 * (this.#random() - 0.5)), y: -4, z: 1000 },
      };
      const bytes = encodeRuuviDf5({
        temperature: values.temperature,
        humidity: values.humidity,
        pressure: Math.round((values.pressure ?? 0) * 100),
        accelerationX: values.acceleration?.x ?? 0,
        accelerationY: values.acceleration?.y ?? 0,
        accelerationZ: values.acceleration?.z ?? 0,
        batteryVoltage: values.voltage * 1000,
        txPower: 4,
        movementCounter: this.#movements,
        measurementSequence: n % 65535,
        mac: spec.mac,
      });
      return { sequence: n, rssi, serviceData: {}, manufacturerData: { [RUUVI_COMPANY_ID]: bytes }, values };
    }
    if (spec.kind === 'pvvx') {
      const values: SensorValues = {
        temperature: round(temperature, 0.01),
        humidity: round(humidity, 0.01),
        battery,
        voltage: round(batteryVoltage(battery), 0.001),
      };
      const bytes = encodePvvx({
        mac: spec.mac,
        temperature: values.temperature,
        humidity: values.humidity,
        batteryMv: values.voltage * 1000,
        battery,
        counter: n & 0xff,
      });
      return { sequence: n, rssi, serviceData: { [PVVX_UUID]: bytes }, manufacturerData: {}, values };
    }
    const values: SensorValues = {
      temperature: round(temperature, 0.01),
      humidity: round(humidity, 0.01),
      battery,
      voltage: round(batteryVoltage(battery), 0.001),
    };
    const objects = {
      packetId: n & 0xff,
      battery,
      temperature: values.temperature,
      humidity: values.humidity,
      voltage: values.voltage,
    };
    const bytes =
      spec.bindKey === undefined
        ? encodeBthome(objects)
        : encodeBthome(objects, { bindKey: spec.bindKey, mac: spec.mac, counter: n });
    return { sequence: n, rssi, serviceData: { [BTHOME_UUID]: bytes }, manufacturerData: {}, values };
  }
}
