import dbus from 'dbus-next';
import { afterEach, describe, expect, it } from 'vitest';
import { GATT_CHARACTERISTIC1, GATT_SERVICE1 } from '../src/drivers/shared/bluez/dbus/values.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { ECHO_LAYOUT } from '../src/drivers/shared/bluez/simulator/gattPeripheral.js';
import { eventually } from './helpers/eventually.js';
import { ADAPTER_PATH, bytes, collect, gattRig, joined } from './helpers/gattRig.js';

// Adapter1.RemoveDevice in the fake BlueZ drops the device's GATT cache as bluetoothd does
// (src/adapter.c remove_device → device_remove → gatt_db cleared, every object unregistered): each
// GattService1 and GattCharacteristic1 object leaves the ObjectManager with InterfacesRemoved, the
// device heard again has no GATT objects, and the next Connect resolves its services afresh. Renogy's
// remove_device step relies on it for stale services after a reconnect.

const HAVE_DBUS = findDbusDaemon() !== undefined;
if (!HAVE_DBUS) console.warn('bluez-gatt-remove-device.test.ts: dbus-daemon is not installed; skipped');

type Message = InstanceType<typeof dbus.Message>;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { write: WRITE, notify: NOTIFY } = ECHO_LAYOUT;

/** Every InterfacesRemoved on the bus, as path → the interfaces it named. */
async function removals(address: string): Promise<Map<string, string[]>> {
  const bus = dbus.sessionBus({ busAddress: address });
  cleanups.push(() => bus.disconnect());
  const seen = new Map<string, string[]>();
  bus.on('message', (message: Message) => {
    if (message.type !== dbus.MessageType.SIGNAL || message.member !== 'InterfacesRemoved') return;
    const [path, interfaces] = message.body as [string, string[]];
    seen.set(path, interfaces);
  });
  await bus.call(
    new dbus.Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: ["type='signal',interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'"],
    }),
  );
  return seen;
}

describe.skipIf(!HAVE_DBUS)('RemoveDevice in the fake BlueZ', () => {
  it('drops the device’s GATT objects (InterfacesRemoved each); heard again, it has none until a Connect resolves them afresh', async () => {
    const { simulator, client, adapter, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] });
    await link.startNotify(NOTIFY);
    const gattObjects = async () =>
      [...(await client.getManagedObjects())]
        .filter(
          ([at, object]) => at.startsWith(`${path}/`) && (object.gattService || object.gattCharacteristic),
        )
        .map(([at, object]) => ({ path: at, service: object.gattService !== undefined }));
    const cached = await gattObjects();
    expect(cached.filter((object) => object.service)).toHaveLength(3);
    expect(cached.filter((object) => !object.service).length).toBeGreaterThanOrEqual(4);

    const removed = await removals(simulator.address);
    await adapter.removeDevice(path);
    await eventually(() => removed.has(path), { what: 'InterfacesRemoved for the device' });
    for (const object of cached) {
      expect(removed.get(object.path), object.path).toContain(
        object.service ? GATT_SERVICE1 : GATT_CHARACTERISTIC1,
      );
    }
    const left = await client.getManagedObjects();
    expect([...left.keys()].filter((at) => at === path || at.startsWith(`${path}/`))).toEqual([]);

    // Heard again: a new device object, without the old cache.
    await client.startDiscovery(ADAPTER_PATH);
    simulator.advertiseNow();
    await eventually(() => device.exported, { what: 'the device heard again' });
    await client.stopDiscovery(ADAPTER_PATH);
    expect((await client.getManagedObjects()).has(path)).toBe(true);
    expect(await gattObjects()).toEqual([]);

    // The next Connect discovers its services again, and the link works on them.
    const again = await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] });
    expect((await gattObjects()).map((object) => object.path)).toEqual(cached.map((object) => object.path));
    const seen = collect(again);
    await again.startNotify(NOTIFY);
    await again.write(WRITE, bytes(25), { withoutResponse: true });
    await eventually(() => joined(seen).length === 25, { what: 'the echo on the fresh services' });
  });
});
