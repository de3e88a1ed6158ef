import { afterEach, describe, expect, it } from 'vitest';
import {
  BluezClient,
  type BluezEvent,
  DbusCallError,
  DbusTimeoutError,
} from '../src/drivers/shared/bluez/dbus/client.js';
import { DbusCallStats } from '../src/drivers/shared/bluez/dbus/stats.js';
import { macOfPath } from '../src/drivers/shared/bluez/dbus/values.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { defaultSensors } from '../src/drivers/shared/bluez/simulator/sensors.js';
import { BluezSimulator } from '../src/drivers/shared/bluez/simulator/simulator.js';
import { eventually } from './helpers/eventually.js';

// The BLE driver's D-Bus client against the fake BlueZ: typed values (no Variants leave it), BlueZ's
// signals through one set of match rules, and the hard timeouts: a hung call fails at its bound, its
// reply handler is dropped, and the stats count it.

const DBUS_DAEMON = findDbusDaemon();
if (DBUS_DAEMON === undefined) console.warn('ble-dbus-client.test.ts: dbus-daemon is not installed; skipped');

const ADAPTER = '/org/bluez/hci0';
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(timeouts = { methodMs: 300, startDiscoveryMs: 400, bringUpMs: 2_000 }) {
  const simulator = new BluezSimulator({ sensors: defaultSensors(2, 5), intervalMs: 0, restartDelayMs: 200 });
  await simulator.start();
  cleanups.push(() => simulator.stop());
  const stats = new DbusCallStats();
  const client = await BluezClient.connect({ busAddress: simulator.address, timeouts, stats });
  cleanups.push(() => client.close());
  const events: BluezEvent[] = [];
  client.onEvent((event) => events.push(event));
  return { simulator, client, stats, events };
}

const until = (what: string, check: () => boolean, timeoutMs = 3_000) =>
  eventually(check, { what, timeoutMs });

describe.skipIf(DBUS_DAEMON === undefined)('BLE D-Bus client on the fake BlueZ', () => {
  it('reads the managed objects as plain typed values and knows who owns org.bluez', async () => {
    const { simulator, client } = await setup();
    expect(client.bluezOwner).toBe(simulator.uniqueName);
    const objects = await client.getManagedObjects();
    expect(objects.get(ADAPTER)?.adapter).toEqual({
      address: '00:1A:7D:DA:71:13',
      powered: true,
      discovering: false,
    });
    const sensor = simulator.sensors[0]!;
    const path = `${ADAPTER}/dev_${sensor.spec.mac.replace(/:/g, '_')}`;
    expect(objects.get(path)?.device).toMatchObject({
      address: sensor.spec.mac,
      name: sensor.spec.name,
      adapter: ADAPTER,
    });
    expect(macOfPath(path)).toBe(sensor.spec.mac);
    expect(await client.getAdapterFlag(ADAPTER, 'Powered')).toBe(true);
  });

  it('sees discovery, advertisements (bytes, not Variants) and power changes as events', async () => {
    const { simulator, client, events } = await setup();
    await client.setDiscoveryFilter(ADAPTER);
    await client.startDiscovery(ADAPTER);
    await until('Discovering', () =>
      events.some((e) => e.type === 'adapter' && e.changed.discovering === true),
    );
    simulator.advertiseNow();
    await until('two advertisements', () => events.filter((e) => e.type === 'device').length === 2);
    const ruuvi = events.find((e) => e.type === 'device' && e.changed.manufacturerData !== undefined);
    expect(ruuvi?.type === 'device' && ruuvi.changed.manufacturerData?.[0x0499]).toBeInstanceOf(Uint8Array);
    const bthome = events.find((e) => e.type === 'device' && e.changed.serviceData !== undefined);
    const data = bthome?.type === 'device' ? Object.values(bthome.changed.serviceData ?? {})[0] : undefined;
    expect(data).toBeInstanceOf(Uint8Array);
    expect(typeof (bthome?.type === 'device' && bthome.changed.rssi)).toBe('number');
    await client.setPowered(ADAPTER, false);
    await until('powered off', () => events.some((e) => e.type === 'adapter' && e.changed.powered === false));
    await expect(client.startDiscovery(ADAPTER)).rejects.toThrow(DbusCallError);
    await expect(client.startDiscovery(ADAPTER)).rejects.toThrow(/org\.bluez\.Error\.NotReady/);
  });

  it('bounds hung calls: each fails at its own timeout, its reply handler is dropped, and the stats count it', async () => {
    const { simulator, client, stats } = await setup();
    simulator.hang('StartDiscovery');
    simulator.hang('Properties.Get');
    const started = Date.now();
    await expect(client.startDiscovery(ADAPTER)).rejects.toThrow(DbusTimeoutError);
    const startMs = Date.now() - started;
    expect(startMs).toBeGreaterThanOrEqual(390);
    expect(startMs).toBeLessThan(900);
    const getStarted = Date.now();
    await expect(client.getAdapterFlag(ADAPTER, 'Discovering')).rejects.toThrow(
      /Properties\.Get\(Discovering\) on \/org\/bluez\/hci0 got no answer within 300 ms/,
    );
    expect(Date.now() - getStarted).toBeLessThan(800);
    expect(client.pendingReplies).toBe(0);
    // Several hung calls at once do not pile up beyond their bound either.
    await Promise.allSettled([1, 2, 3].map(() => client.getAdapterFlag(ADAPTER, 'Powered')));
    const snapshot = stats.snapshot();
    expect(snapshot['Adapter1.StartDiscovery']).toMatchObject({ calls: 1, timeouts: 1, errors: 0 });
    expect(snapshot['Properties.Get(Powered)']).toMatchObject({ calls: 3, timeouts: 3 });
    expect(snapshot['Properties.Get(Powered)']?.p99).toBeGreaterThanOrEqual(290);
    expect(client.pendingReplies).toBe(0);
    simulator.unhang();
    expect(await client.getAdapterFlag(ADAPTER, 'Powered')).toBe(true);
    expect(stats.snapshot()['Properties.Get(Powered)']).toMatchObject({ calls: 4, timeouts: 3 });
  });

  it('an abort signal ends a call at once', async () => {
    const { simulator, client } = await setup({ methodMs: 5_000, startDiscoveryMs: 5_000, bringUpMs: 5_000 });
    simulator.hang('GetManagedObjects');
    const controller = new AbortController();
    const call = client.getManagedObjects(controller.signal);
    setTimeout(() => controller.abort(new Error('caller gave up')), 50);
    await expect(call).rejects.toThrow('caller gave up');
  });

  it('follows bluetoothd leaving and returning, and the adapter being removed and added', async () => {
    const { simulator, client, events } = await setup();
    const oldOwner = client.bluezOwner;
    await simulator.restart(200);
    await until('owner back', () => events.filter((e) => e.type === 'owner').length === 2);
    expect(events.filter((e) => e.type === 'owner')).toEqual([
      { type: 'owner', owner: '' },
      { type: 'owner', owner: simulator.uniqueName },
    ]);
    expect(client.bluezOwner).not.toBe(oldOwner);
    simulator.removeAdapter();
    await until('adapter removed', () =>
      events.some((e) => e.type === 'removed' && e.path === ADAPTER && e.adapter),
    );
    simulator.addAdapter();
    await until('adapter added', () =>
      events.some((e) => e.type === 'added' && e.path === ADAPTER && e.object.adapter?.powered === true),
    );
  });

  it('reports the connection itself ending, and fails calls on it at once', async () => {
    const { simulator, client, events } = await setup({
      methodMs: 5_000,
      startDiscoveryMs: 5_000,
      bringUpMs: 5_000,
    });
    simulator.hang('GetManagedObjects');
    const pending = client.getManagedObjects();
    pending.catch(() => undefined);
    await simulator.stop();
    await until('closed', () => events.some((e) => e.type === 'closed'));
    await expect(pending).rejects.toThrow(/closed the connection|connection error|NoReply/);
    expect(client.closed).toBe(true);
    await expect(client.getAdapterFlag(ADAPTER, 'Powered')).rejects.toThrow(/the D-Bus connection is gone/);
  });

  it('says which bus it could not reach', async () => {
    await expect(
      BluezClient.connect({
        busAddress: 'unix:path=/nonexistent/fieldbridge-bus',
        timeouts: { methodMs: 500 },
      }),
    ).rejects.toThrow(/cannot connect to unix:path=\/nonexistent\/fieldbridge-bus|no answer from/);
  });
});
