import type { DeviceConfig, FieldbridgeConfig } from '../../config/index.js';
import { type BleLine, bleLineBus } from './lineConfig.js';

// Every `ble:` line is an adapter device (`ble_hci0`): the adapter brought up, watched by the watchdog
// and recovered. Sensors configured on an adapter without a line get one too.

/** An adapter's bring-up may retry for 30 s; its connect gets a little more before it counts as failed. */
const ADAPTER_CONNECT_TIMEOUT_MS = 35_000;

type BleDevice = Extract<DeviceConfig, { driver: 'ble' }>;

const isBle = (device: DeviceConfig): device is BleDevice => device.driver === 'ble';

type AdapterLine = Pick<BleLine, 'adapter' | 'transport'> & Partial<BleLine>;

function adapterEntry(line: AdapterLine, id: string): Record<string, unknown> {
  return {
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
  };
}

/**
 * The adapter devices the config implies, as device entries: one per `ble:` line, and one per adapter
 * that configured bluez sensors use without a line (so every real adapter is brought up and watched). A
 * bus that already has an adapter device configured by hand keeps that one. `takeId` turns a wanted id
 * into a free one.
 */
export function bleAdapterEntries(
  config: FieldbridgeConfig,
  takeId: (wanted: string) => string,
): Record<string, unknown>[] {
  const buses = new Set(
    config.devices.filter((d) => isBle(d) && d.role === 'adapter').map((device) => device.bus),
  );
  const adapters: Record<string, unknown>[] = [];
  const add = (line: AdapterLine) => {
    const bus = bleLineBus(line);
    if (buses.has(bus)) return;
    buses.add(bus);
    adapters.push(adapterEntry(line, takeId(`ble_${line.adapter.replace(/[^A-Za-z0-9_-]/g, '_')}`)));
  };
  for (const line of config.ble) add(line);
  for (const device of config.devices) {
    if (isBle(device) && device.enabled && device.role !== 'adapter' && device.transport === 'bluez') {
      add({ adapter: device.adapter, transport: 'bluez' });
    }
  }
  return adapters;
}
