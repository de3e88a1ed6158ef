import type { HeardSensor } from '../actors/ble/sensors.js';
import { type BleLine, bleLineBus, type BleFormatName } from '../config/bleLines.js';
import { type DeviceConfig, deviceSchema, type FieldbridgeConfig } from '../config/index.js';
import type { DiscoveredDevice } from '../persistence/index.js';
import { freeId } from './scans.js';

// BLE in the effective config: every `ble:` line is an adapter device (`ble_hci0`), and every sensor
// heard on a line with `auto_add` (in its formats, on its allow-list) becomes a device of its own,
// stored like a scanned meter. New sensors are collected for a few seconds and added together: applying
// them restarts the bus (and the adapter's scan), which should happen once for a room full of
// thermometers, not once per thermometer. A device configured with the same MAC wins.

/** An adapter's bring-up may retry for 30 s; its connect gets a little more before it counts as failed. */
const ADAPTER_CONNECT_TIMEOUT_MS = 35_000;

type BleDevice = Extract<DeviceConfig, { driver: 'ble' }>;

const isBle = (device: DeviceConfig): device is BleDevice => device.driver === 'ble';

/** The format names of the `ble:` section (`atc` covers both Xiaomi custom firmwares). */
export function formatName(format: HeardSensor['format']): BleFormatName {
  return format === 'atc1441' || format === 'pvvx' ? 'atc' : format;
}

/** The same physical sensor: a BLE device with this MAC (whatever adapter it was configured on). */
export function sameBleSensor(a: DeviceConfig, b: DeviceConfig): boolean {
  return isBle(a) && isBle(b) && a.mac !== undefined && a.mac === b.mac;
}

function adapterEntry(
  line: Pick<BleLine, 'adapter' | 'transport'> & Partial<BleLine>,
  id: string,
): DeviceConfig {
  return deviceSchema.parse({
    id,
    name: `Bluetooth adapter ${line.adapter}${line.transport === 'simulated' ? ' (simulated)' : ''}`,
    driver: 'ble',
    transport: line.transport,
    adapter: line.adapter,
    role: 'adapter',
    ...(line.bus_address ? { bus_address: line.bus_address } : {}),
    ...(line.watchdog ? { watchdog: line.watchdog } : {}),
    timeouts: { connect: ADAPTER_CONNECT_TIMEOUT_MS },
    // One unhealthy watchdog check (which already weighs several readings) makes the adapter degraded,
    // so bridge/health shows it and its ladder is not reset as "healthy" while the watchdog climbs it.
    health: { failure_threshold: 1 },
  });
}

/**
 * The adapter devices the config implies: one per `ble:` line, and one per adapter that configured
 * bluez sensors use without a line (so every real adapter is brought up and watched). A bus that already
 * has an adapter device configured by hand keeps that one.
 */
export function bleAdapterDevices(config: FieldbridgeConfig): DeviceConfig[] {
  const taken = new Set(config.devices.map((device) => device.id));
  const buses = new Set(
    config.devices.filter((d) => isBle(d) && d.role === 'adapter').map((device) => device.bus),
  );
  const adapters: DeviceConfig[] = [];
  const add = (line: Pick<BleLine, 'adapter' | 'transport'> & Partial<BleLine>) => {
    const bus = bleLineBus(line);
    if (buses.has(bus)) return;
    buses.add(bus);
    const base = `ble_${line.adapter.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    adapters.push(adapterEntry(line, freeId(base, taken)));
  };
  for (const line of config.ble) add(line);
  for (const device of config.devices) {
    if (isBle(device) && device.enabled && device.role !== 'adapter' && device.transport === 'bluez') {
      add({ adapter: device.adapter, transport: 'bluez' });
    }
  }
  return adapters;
}

/** The `ble:` line whose devices run on `busId`. */
export function bleLineOfBus(config: FieldbridgeConfig, busId: string): BleLine | undefined {
  return config.ble.find((line) => bleLineBus(line) === busId);
}

/** Whether a line takes a heard sensor: one of its formats, and on its allow-list when it has one. */
export function lineAccepts(line: BleLine, heard: Pick<HeardSensor, 'format' | 'mac'>): boolean {
  if (!line.formats.includes(formatName(heard.format))) return false;
  return line.allow === undefined || line.allow.includes(heard.mac);
}

/** Whether the config (effective: configured and found) already has a device for this MAC. */
export function knownBleMac(config: FieldbridgeConfig, mac: string): boolean {
  return config.devices.some((device) => isBle(device) && device.mac === mac);
}

const FORMAT_LABELS: Record<HeardSensor['format'], string> = {
  bthome: 'BTHome',
  ruuvi: 'RuuviTag',
  atc1441: 'ATC thermometer',
  pvvx: 'pvvx thermometer',
};

/** A heard sensor's device entry, as a user would write it in the config file. */
export function bleSensorEntry(heard: HeardSensor, line: BleLine, taken: Set<string>): DiscoveredDevice {
  const id = freeId(`ble_${heard.mac.replace(/:/g, '').toLowerCase()}`, taken);
  return {
    id,
    config: {
      id,
      name: heard.name ?? `${FORMAT_LABELS[heard.format]} ${heard.mac}`,
      driver: 'ble',
      transport: line.transport,
      adapter: line.adapter,
      mac: heard.mac,
      offline_after_ms: line.offline_after_ms,
    },
    foundAt: Date.now(),
  };
}

export interface CollectorDependencies {
  /** The devices running now (configured and found). */
  config: () => FieldbridgeConfig;
  /** Stores found devices and applies the config they extend; returns the ids added. */
  addDevices: (devices: DiscoveredDevice[]) => string[];
  log: (message: string) => void;
  debounceMs?: number;
}

/** auto_add: collects sensors heard on lines that want them, and adds them in one go. */
export class BleSensorCollector {
  readonly #pending = new Map<string, { heard: HeardSensor; line: BleLine }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CollectorDependencies) {}

  readonly handle = (heard: HeardSensor): void => {
    const config = this.deps.config();
    const line = bleLineOfBus(config, heard.busId);
    if (!line?.auto_add || !lineAccepts(line, heard)) return;
    if (this.#pending.has(heard.mac) || knownBleMac(config, heard.mac)) return;
    this.#pending.set(heard.mac, { heard, line });
    this.#timer ??= setTimeout(() => this.flush(), this.deps.debounceMs ?? 3_000);
  };

  /** Adds what was collected (also called by the timer); returns the ids added. */
  flush(): string[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const config = this.deps.config();
    const taken = new Set(config.devices.map((device) => device.id));
    const entries = [...this.#pending.values()]
      .filter(({ heard }) => !knownBleMac(config, heard.mac))
      .map(({ heard, line }) => bleSensorEntry(heard, line, taken));
    this.#pending.clear();
    if (entries.length === 0) return [];
    const added = this.deps.addDevices(entries);
    this.deps.log(
      `added ${added.length} BLE sensor${added.length === 1 ? '' : 's'} heard by auto_add: ${entries
        .map((entry) => `${entry.id} (${String(entry.config.name)})`)
        .join(', ')}`,
    );
    return added;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }
}
