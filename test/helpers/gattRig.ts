import { BluezClient, type DbusTimeouts } from '../../src/drivers/ble/dbus/client.js';
import { GattAdapter, type GattAdapterOptions } from '../../src/drivers/ble/gatt/adapter.js';
import type { GattLink, GattNotification } from '../../src/drivers/ble/gatt/link.js';
import type { FakeGattDevice, GattDeviceSpec } from '../../src/drivers/ble/simulator/gattDevice.js';
import { EchoPeripheral, type EchoLayout } from '../../src/drivers/ble/simulator/gattPeripheral.js';
import { defaultSensors } from '../../src/drivers/ble/simulator/sensors.js';
import { BluezSimulator, type BluezSimulatorOptions } from '../../src/drivers/ble/simulator/simulator.js';

// The connected-BLE tests' rig: the fake BlueZ on a private dbus-daemon with echo devices, one D-Bus
// client and the GattAdapter over it, short bounds, and a cleanup list run after each test.

export const ADAPTER_PATH = '/org/bluez/hci0';
export const SHORT_TIMEOUTS: DbusTimeouts = { methodMs: 400, startDiscoveryMs: 800, bringUpMs: 3_000 };

export interface GattRig {
  simulator: BluezSimulator;
  client: BluezClient;
  adapter: GattAdapter;
  addEcho(
    index: number,
    options?: { layout?: EchoLayout; known?: boolean } & Partial<GattDeviceSpec>,
  ): {
    device: FakeGattDevice;
    echo: EchoPeripheral;
    path: string;
  };
}

export function echoMac(index: number): string {
  return `C4:EC:00:00:00:${index.toString(16).padStart(2, '0').toUpperCase()}`;
}

export async function gattRig(
  cleanups: (() => Promise<void> | void)[],
  options: {
    simulator?: BluezSimulatorOptions;
    adapter?: Partial<GattAdapterOptions>;
    timeouts?: DbusTimeouts;
  } = {},
): Promise<GattRig> {
  const simulator = new BluezSimulator({
    sensors: defaultSensors(1, 5),
    intervalMs: 0,
    ...options.simulator,
  });
  await simulator.start();
  cleanups.push(() => simulator.stop());
  const client = await BluezClient.connect({
    busAddress: simulator.address,
    timeouts: options.timeouts ?? SHORT_TIMEOUTS,
  });
  cleanups.push(() => client.close());
  const adapter = new GattAdapter({ client, adapterPath: ADAPTER_PATH, ...options.adapter });
  cleanups.push(() => adapter.close());
  return {
    simulator,
    client,
    adapter,
    addEcho(index, { layout, known, ...spec } = {}) {
      const echo = new EchoPeripheral(layout);
      const device = simulator.addGattDevice(
        {
          mac: echoMac(index),
          name: `ECHO-${index}`,
          peripheral: echo,
          connectDelayMs: 10,
          resolveDelayMs: 10,
          ...spec,
        },
        known,
      );
      return { device, echo, path: adapter.devicePath(echoMac(index)) };
    },
  };
}

/** Collects a link's notifications. */
export function collect(link: GattLink): GattNotification[] {
  const seen: GattNotification[] = [];
  link.onNotification((notification) => seen.push(notification));
  return seen;
}

export const joined = (notifications: readonly GattNotification[]): number[] =>
  notifications.flatMap((notification) => [...notification.value]);

export const bytes = (count: number, from = 1): Uint8Array =>
  Uint8Array.from({ length: count }, (_, i) => (from + i) & 0xff);

/** The rejection of `promise`, which must reject. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { kind?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { kind?: string };
  }
  throw new Error('expected a rejection, but it resolved');
}
