import { afterEach, describe, expect, it } from 'vitest';
import { BluezClient } from '../src/drivers/ble/dbus/client.js';
import { GattAdapter, GattFailure } from '../src/drivers/ble/gatt/index.js';
import { fullUuid } from '../src/drivers/ble/gatt/tree.js';
import { findDbusDaemon } from '../src/drivers/ble/simulator/daemon.js';
import { DECOY_MARK, ECHO_LAYOUT, uuid16 } from '../src/drivers/ble/simulator/gattPeripheral.js';
import { eventually } from './helpers/eventually.js';
import {
  ADAPTER_PATH,
  bytes,
  collect,
  gattRig,
  joined,
  rejectionOf,
  SHORT_TIMEOUTS,
} from './helpers/gattRig.js';

// Connected BLE over the fake BlueZ on a private dbus-daemon: connect, services resolved, notify and
// write round trip in 20-byte pieces, characteristics chosen by (service, characteristic) pair when one
// UUID sits under two services, disconnect (idempotent, silent after), RemoveDevice and an adapter reset.

const DBUS_DAEMON = findDbusDaemon();
if (DBUS_DAEMON === undefined) console.warn('ble-gatt.test.ts: dbus-daemon is not installed; skipped');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { write: WRITE, notify: NOTIFY } = ECHO_LAYOUT;
const DECOY_WRITE = { service: ECHO_LAYOUT.decoyService ?? '', characteristic: WRITE.characteristic };
const DECOY_NOTIFY = { service: ECHO_LAYOUT.decoyService ?? '', characteristic: NOTIFY.characteristic };
// Renogy's layout (renogy.md §1.2): write ffd0/ffd1, notify fff0/fff1; Pro batteries repeat the UUIDs.
const RENOGY_LAYOUT = {
  write: { service: uuid16(0xffd0), characteristic: uuid16(0xffd1) },
  notify: { service: uuid16(0xfff0), characteristic: uuid16(0xfff1) },
  decoyService: uuid16(0xffe0),
};

describe.skipIf(DBUS_DAEMON === undefined)('connected BLE (GATT) on the fake BlueZ', () => {
  it('connects, waits for the services, and echoes a 45-byte write back in 20-byte notifications', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { device, echo, path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] });
    expect(device.connected).toBe(true);
    expect(device.servicesResolved).toBe(true);
    const seen = collect(link);
    await link.startNotify(NOTIFY);
    const sent = bytes(45);
    await link.write(WRITE, sent, { withoutResponse: true });
    await eventually(() => joined(seen).length === 45, { what: 'the echo' });
    expect(seen.map((n) => n.value.length)).toEqual([20, 20, 5]);
    expect(joined(seen)).toEqual([...sent]);
    expect(seen.every((n) => n.pair === NOTIFY)).toBe(true);
    expect(echo.writes.at(-1)?.withoutResponse).toBe(true);

    await link.write(WRITE, bytes(3, 0x40));
    expect(echo.writes.at(-1)?.withoutResponse).toBe(false);
    expect([...(await link.read(WRITE))]).toEqual([0x40, 0x41, 0x42]);
    await link.disconnect();
    expect(device.connected).toBe(false);
  });

  it('with a larger ATT MTU a notification carries MTU − 3 bytes (one piece for 45 bytes at MTU 185)', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { path } = addEcho(1, { mtu: 185 });
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const seen = collect(link);
    await link.startNotify(NOTIFY);
    await link.write(WRITE, bytes(200), { withoutResponse: true });
    await eventually(() => joined(seen).length === 200, { what: 'the echo' });
    expect(seen.map((n) => n.value.length)).toEqual([182, 18]);
  });

  it('accepts 16-bit UUIDs and answers the same link to a second connect while it is up', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { path } = addEcho(1);
    const [first, second] = await Promise.all([
      adapter.connect(path, { timeoutMs: 2_000 }),
      adapter.connect(path, { timeoutMs: 2_000 }),
    ]);
    expect(second).toBe(first);
    expect(first.characteristic({ service: 'ec00', characteristic: 'EC01' }).uuid).toBe(fullUuid('ec01'));
    expect(() => fullUuid('not-a-uuid')).toThrow(/not a Bluetooth UUID/);
  });

  it.each([
    ['the echo layout', ECHO_LAYOUT],
    ["Renogy's UUIDs", RENOGY_LAYOUT],
  ])(
    'picks the characteristic by (service, characteristic) when one UUID is under two services: %s',
    async (_name, layout) => {
      const { adapter, addEcho } = await gattRig(cleanups);
      const { path } = addEcho(2, { layout });
      const decoyWrite = { service: layout.decoyService ?? '', characteristic: layout.write.characteristic };
      const decoyNotify = {
        service: layout.decoyService ?? '',
        characteristic: layout.notify.characteristic,
      };
      const link = await adapter.connect(path, {
        timeoutMs: 2_000,
        require: [layout.write, layout.notify, decoyNotify],
      });
      expect(link.characteristic(layout.notify).path).not.toBe(link.characteristic(decoyNotify).path);
      const seen = collect(link);
      await link.startNotify(layout.notify);
      await link.startNotify(decoyNotify);
      await link.write(layout.write, bytes(4), { withoutResponse: true });
      await link.write(decoyWrite, bytes(2, 9), { withoutResponse: true });
      await eventually(() => seen.length === 2, { what: 'both echoes' });
      const onNotify = seen.filter((n) => n.pair === layout.notify);
      const onDecoy = seen.filter((n) => n.pair === decoyNotify);
      expect(joined(onNotify)).toEqual([1, 2, 3, 4]);
      expect(joined(onDecoy)).toEqual([...DECOY_MARK, 9, 10]);
    },
  );

  it('disconnect is idempotent, never rejects and nothing is reported after it', async () => {
    const { adapter, addEcho, simulator } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const seen = collect(link);
    const lost: GattFailure[] = [];
    link.onLost((failure) => lost.push(failure));
    await link.startNotify(NOTIFY);
    await Promise.all([link.disconnect(), link.disconnect()]);
    await link.disconnect();
    expect(link.closed).toBe(true);
    expect(device.connected).toBe(false);
    expect(simulator.callCount('Device1.Disconnect')).toBe(1);
    device.inject(NOTIFY, bytes(5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toEqual([]);
    expect(lost).toEqual([]);
    expect((await rejectionOf(link.write(WRITE, bytes(1)))).kind).toBe('disconnected');
    expect(adapter.link(path)).toBeUndefined();
    // Disconnecting a link whose bluetoothd is gone still resolves.
    const again = await adapter.connect(path, { timeoutMs: 2_000 });
    await simulator.stop();
    await again.disconnect();
  });

  it('takes over a link BlueZ still holds (a process that died mid-poll) without a second Connect', async () => {
    const { adapter, addEcho, simulator } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    await adapter.connect(path, { timeoutMs: 2_000 });
    const restarted = await BluezClient.connect({ busAddress: simulator.address, timeouts: SHORT_TIMEOUTS });
    cleanups.push(() => restarted.close());
    const fresh = new GattAdapter({ client: restarted, adapterPath: ADAPTER_PATH });
    cleanups.push(() => fresh.close());
    const link = await fresh.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] });
    expect(device.connectCalls).toBe(1);
    const seen = collect(link);
    await link.startNotify(NOTIFY);
    await link.write(WRITE, bytes(3), { withoutResponse: true });
    await eventually(() => seen.length === 1, { what: 'the echo on the taken-over link' });
  });

  it('reports a link the device dropped once, and a new connect gives a working link', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const lost: GattFailure[] = [];
    link.onLost((failure) => lost.push(failure));
    device.dropLink('supervision timeout');
    await eventually(() => lost.length === 1, { what: 'the loss' });
    expect(lost[0]?.kind).toBe('disconnected');
    expect(link.closed).toBe(true);

    const next = await adapter.connect(path, { timeoutMs: 2_000, require: [NOTIFY] });
    expect(next).not.toBe(link);
    const seen = collect(next);
    await next.startNotify(NOTIFY);
    await next.write(WRITE, bytes(21), { withoutResponse: true });
    await eventually(() => joined(seen).length === 21, { what: 'the echo on the new link' });
    expect(lost).toHaveLength(1);
  });

  it('gives notifications as an async iterable that ends with the link', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    await link.startNotify(NOTIFY);
    const stream = link.notifications();
    await link.write(WRITE, bytes(30), { withoutResponse: true });
    const lengths: number[] = [];
    for await (const notification of stream) {
      lengths.push(notification.value.length);
      if (lengths.length === 2) void link.disconnect();
    }
    expect(lengths).toEqual([20, 10]);
  });

  it('RemoveDevice drops the link and the object; the device is back when heard again', async () => {
    const { adapter, addEcho, client, simulator } = await gattRig(cleanups);
    const { device, path } = addEcho(3);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    await adapter.removeDevice(path);
    expect(link.closed).toBe(true);
    expect(device.exported).toBe(false);
    expect((await client.getManagedObjects()).has(path)).toBe(false);
    await adapter.removeDevice(path);
    expect((await rejectionOf(adapter.connect(path, { timeoutMs: 1_000 }))).kind).toBe('not_found');

    await client.startDiscovery(ADAPTER_PATH);
    simulator.advertiseNow();
    await eventually(() => device.exported, { what: 'the device heard again' });
    await client.stopDiscovery(ADAPTER_PATH);
    const again = await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] });
    expect(again.closed).toBe(false);
  });

  it('an adapter reset drops every link; its objects come back and connecting works again', async () => {
    const { adapter, addEcho, simulator } = await gattRig(cleanups);
    const first = addEcho(4);
    const second = addEcho(5);
    const links = [
      await adapter.connect(first.path, { timeoutMs: 2_000 }),
      await adapter.connect(second.path, { timeoutMs: 2_000 }),
    ];
    const lost: string[] = [];
    for (const link of links) link.onLost((failure) => lost.push(failure.kind));
    simulator.resetAdapter();
    await eventually(() => lost.length === 2, { what: 'both links lost' });
    expect(lost).toEqual(['disconnected', 'disconnected']);
    const again = await adapter.connect(first.path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] });
    const seen = collect(again);
    await again.startNotify(NOTIFY);
    await again.write(WRITE, bytes(2), { withoutResponse: true });
    await eventually(() => seen.length === 1, { what: 'the echo after the reset' });
  });

  it("exports BlueZ's documented interfaces: methods, signatures and GATT properties", async () => {
    // doc/org.bluez.Device.rst, GattService.rst, GattCharacteristic.rst (BlueZ, October 2023).
    const { client, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    const introspect = async (objectPath: string) =>
      String(
        (
          await client.callBluez({
            path: objectPath,
            interface: 'org.freedesktop.DBus.Introspectable',
            member: 'Introspect',
          })
        )[0],
      );
    /** `in:ay in:a{sv}` for a method, '' for one without arguments, undefined for a missing one. */
    const signatureOf = (xml: string, method: string) => {
      const found = new RegExp(`<method name="${method}"(?:/>|>([\\s\\S]*?)</method>)`).exec(xml);
      if (found === null) return undefined;
      return [...(found[1] ?? '').matchAll(/direction="(in|out)" type="([^"]+)"/g)]
        .map(([, direction, type]) => `${direction}:${type}`)
        .join(' ');
    };
    const deviceXml = await introspect(path);
    expect(signatureOf(deviceXml, 'Connect')).toBe('');
    expect(signatureOf(deviceXml, 'Disconnect')).toBe('');
    const charPath = device.characteristicPath(WRITE) ?? '';
    const charXml = await introspect(charPath);
    expect(signatureOf(charXml, 'WriteValue')).toBe('in:ay in:a{sv}');
    expect(signatureOf(charXml, 'ReadValue')).toBe('in:a{sv} out:ay');
    expect(signatureOf(charXml, 'StartNotify')).toBe('');
    expect(signatureOf(charXml, 'StopNotify')).toBe('');
    expect(charPath).toMatch(
      /^\/org\/bluez\/hci0\/dev_C4_EC_00_00_00_01\/service[0-9a-f]{4}\/char[0-9a-f]{4}$/,
    );

    const objects = await client.getManagedObjects();
    const device1 = objects.get(path)?.device;
    expect(device1).toMatchObject({
      connected: false,
      servicesResolved: false,
      address: 'C4:EC:00:00:00:01',
    });
    const characteristic = objects.get(charPath)?.gattCharacteristic;
    expect(characteristic?.uuid).toBe(WRITE.characteristic);
    expect(characteristic?.flags).toEqual(['read', 'write', 'write-without-response']);
    // Value is optional: absent until a read or a notification filled BlueZ's cache.
    expect(characteristic?.value).toBeUndefined();
    const service = objects.get(characteristic?.service ?? '')?.gattService;
    expect(service).toEqual({ uuid: WRITE.service, device: path, primary: true });
  });

  it('fails with named kinds for a missing device, a missing pair and a characteristic that does not notify', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { path } = addEcho(1);
    const missing = await rejectionOf(
      adapter.connect(adapter.devicePath('00:11:22:33:44:55'), { timeoutMs: 1_000 }),
    );
    expect(missing).toBeInstanceOf(GattFailure);
    expect(missing.kind).toBe('not_found');
    const wrongPair = { service: NOTIFY.service, characteristic: WRITE.characteristic };
    const noPair = await rejectionOf(adapter.connect(path, { timeoutMs: 2_000, require: [wrongPair] }));
    expect(noPair.kind).toBe('services_missing');
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    expect((await rejectionOf(link.startNotify(WRITE))).kind).toBe('not_supported');
    expect(() => link.characteristic(DECOY_WRITE)).not.toThrow();
    expect(() => link.characteristic(wrongPair)).toThrow(/has no service/);
    void DECOY_NOTIFY;
  });
});
