import type { HeardDevice } from '../contract.js';
import type { HeardSensor } from './sensors.js';
import { type BleLine, bleLineBus, type BleFormatName } from './lineConfig.js';
import type { DeviceConfig, FieldbridgeConfig } from '../../config/index.js';
import type { DiscoveredDevice } from '../../persistence/index.js';
import { freeId } from '../shared/freeId.js';

// BLE sensors in the effective config (each line's adapter device: ./adapterDevices.ts): every sensor
// heard on a line with `auto_add` (in its formats; on its allow-list when it has one, else heard at
// `auto_add_min_rssi` or stronger) becomes a device of its own, stored like a scanned meter. New sensors
// are collected for a few seconds and added together: applying them restarts the bus (and the adapter's
// scan), which should happen once for a room full of thermometers, not once per thermometer. A device
// configured with the same MAC wins. Sensors heard but left out (too faint: the neighbours'; removed on
// request) are offered once on bridge/event (`ble_sensor_not_added`), with how to add them.

type BleDevice = Extract<DeviceConfig, { driver: 'ble' }>;

const isBle = (device: DeviceConfig): device is BleDevice => device.driver === 'ble';

/** The format names of the `ble:` section (`atc` covers both Xiaomi custom firmwares). */
export function formatName(format: HeardSensor['format']): BleFormatName {
  return format === 'atc1441' || format === 'pvvx' ? 'atc' : format;
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

/**
 * Why a sensor a line accepts (format, allow-list) is not added, or undefined when it may be: removed
 * on request (`forgotten`), or, without an allow-list, heard fainter than `minRssi` (default: the line's
 * auto_add_min_rssi). An allow-list names the sensors wanted, at any strength.
 */
export function notAddedBecause(
  line: BleLine,
  heard: Pick<HeardSensor, 'mac' | 'rssi'>,
  options: { forgotten?: ReadonlySet<string>; minRssi?: number | undefined } = {},
): string | undefined {
  if (options.forgotten?.has(heard.mac)) {
    return 'it was removed on request (a scan of its adapter, or an entry under devices:, adds it again)';
  }
  if (line.allow !== undefined) return undefined;
  const min = options.minRssi ?? line.auto_add_min_rssi;
  const add = 'add its MAC to allow: of the ble: line, or the sensor under devices:, to have it';
  if (heard.rssi === undefined)
    return `its signal strength is unknown (auto_add takes ${min} dBm or stronger): ${add}`;
  if (heard.rssi < min) {
    return `heard at ${heard.rssi} dBm, fainter than auto_add_min_rssi (${min} dBm), maybe a neighbour's: ${add}`;
  }
  return undefined;
}

/** A sensor heard and not added, as bridge/event offers it. */
export interface NotAddedSensor {
  adapter: string;
  mac: string;
  name: string | null;
  format: HeardSensor['format'];
  encrypted: boolean;
  rssi: number | null;
  reason: string;
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
  /** The MACs of sensors removed on request, which auto_add leaves alone. */
  forgotten?: () => ReadonlySet<string>;
  /** A sensor heard and not added (once per sensor and run), for bridge/event. */
  offer?: (sensor: NotAddedSensor) => void;
  log: (message: string) => void;
  debounceMs?: number;
}

function isHeardSensor(device: HeardDevice): device is HeardSensor {
  return 'mac' in device && 'format' in device && 'adapter' in device;
}

/** auto_add: collects sensors heard on lines that want them, and adds them in one go. */
export class BleSensorCollector {
  readonly #pending = new Map<string, { heard: HeardSensor; line: BleLine }>();
  /** Sensors offered and not added: each is said once per run (a neighbour's is heard all day). */
  readonly #offered = new Set<string>();
  /** Offered since the last flush, for its one log line. */
  #offers: NotAddedSensor[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CollectorDependencies) {}

  /** A device heard on any bus (the gateway's OpenContext sink): BLE sensors are taken, others ignored. */
  readonly handle = (heard: HeardDevice): void => {
    if (!isHeardSensor(heard)) return;
    const config = this.deps.config();
    const line = bleLineOfBus(config, heard.busId);
    if (!line?.auto_add || !lineAccepts(line, heard)) return;
    if (this.#pending.has(heard.mac) || knownBleMac(config, heard.mac)) return;
    const reason = notAddedBecause(line, heard, { forgotten: this.deps.forgotten?.() });
    if (reason === undefined) this.#pending.set(heard.mac, { heard, line });
    else if (!this.#offered.has(heard.mac)) this.#offer(heard, reason);
    else return;
    this.#timer ??= setTimeout(() => this.flush(), this.deps.debounceMs ?? 3_000);
  };

  #offer(heard: HeardSensor, reason: string): void {
    this.#offered.add(heard.mac);
    const sensor: NotAddedSensor = {
      adapter: heard.adapter,
      mac: heard.mac,
      name: heard.name ?? null,
      format: heard.format,
      encrypted: heard.encrypted,
      rssi: heard.rssi ?? null,
      reason,
    };
    this.#offers.push(sensor);
    this.deps.offer?.(sensor);
  }

  /** Adds what was collected (also called by the timer); returns the ids added. */
  flush(): string[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#logOffers();
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

  /** One line for the sensors offered since the last flush, however many. */
  #logOffers(): void {
    if (this.#offers.length === 0) return;
    const offers = this.#offers;
    this.#offers = [];
    const list = offers.map((sensor) => `${sensor.mac} (${sensor.rssi ?? '?'} dBm)`).join(', ');
    this.deps.log(
      `heard ${offers.length} BLE sensor${offers.length === 1 ? '' : 's'} that auto_add leaves out ` +
        `(too faint, or removed): ${list}; bridge/event ble_sensor_not_added says why and how to add one`,
    );
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending.clear();
  }
}
