import { afterEach, describe, expect, it } from 'vitest';
import { findDbusDaemon } from '../src/drivers/ble/simulator/daemon.js';
import { ECHO_LAYOUT } from '../src/drivers/ble/simulator/gattPeripheral.js';
import { eventually } from './helpers/eventually.js';
import { ADAPTER_PATH, bytes, collect, gattRig, joined, rejectionOf } from './helpers/gattRig.js';

// Every fault of a connected BLE device in the fake BlueZ, and the named failure the GATT layer gives for
// it: connect aborted, InProgress, a hung Connect (failed within its bound, abandoned, Disconnect sent),
// services never resolved or missing after a reconnect, the device taken by another central, a lost
// piece, garbled bytes and a late answer (which the layer passes on as they came: judging them is the
// protocol's job), a hung WriteValue, and bluetoothd leaving mid-link.

const DBUS_DAEMON = findDbusDaemon();
if (DBUS_DAEMON === undefined) console.warn('ble-gatt-faults.test.ts: dbus-daemon is not installed; skipped');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const { write: WRITE, notify: NOTIFY } = ECHO_LAYOUT;

describe.skipIf(DBUS_DAEMON === undefined)('connected BLE faults and their failure kinds', () => {
  it('connect aborted (le-connection-abort-by-local) → connect_aborted, then the next connect works', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    device.faults.failConnects('abort');
    const failure = await rejectionOf(adapter.connect(path, { timeoutMs: 2_000 }));
    expect(failure.kind).toBe('connect_aborted');
    expect(failure.message).toContain('le-connection-abort-by-local');
    expect((await adapter.connect(path, { timeoutMs: 2_000 })).closed).toBe(false);
  });

  it('InProgress → in_progress', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    device.faults.failConnects('in_progress');
    const failure = await rejectionOf(adapter.connect(path, { timeoutMs: 2_000 }));
    expect(failure.kind).toBe('in_progress');
    expect((failure as { dbusName?: string }).dbusName).toBe('org.bluez.Error.InProgress');
  });

  it('a hung Connect fails within its bound as connect_timeout, is abandoned and followed by a Disconnect', async () => {
    const { adapter, addEcho, client, simulator } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    device.faults.hangConnects = true;
    const started = performance.now();
    const failure = await rejectionOf(adapter.connect(path, { timeoutMs: 300 }));
    const elapsed = performance.now() - started;
    expect(failure.kind).toBe('connect_timeout');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(900);
    // The hung call's reply handler is gone (no pile-up), and bluetoothd was told to cancel.
    await eventually(() => simulator.callCount('Device1.Disconnect') === 1, { what: 'the Disconnect' });
    await eventually(() => client.pendingReplies === 0, { what: 'no reply awaited' });
    device.faults.hangConnects = false;
    expect((await adapter.connect(path, { timeoutMs: 2_000 })).closed).toBe(false);
  });

  it('an aborted caller gets aborted, not a timeout', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    device.faults.hangConnects = true;
    const failure = await rejectionOf(
      adapter.connect(path, { timeoutMs: 5_000, signal: AbortSignal.timeout(100) }),
    );
    expect(failure.kind).toBe('aborted');
  });

  it('a connect pending when the adapter goes is answered (cancelled), not left to its bound', async () => {
    const { adapter, addEcho, simulator } = await gattRig(cleanups);
    const { device, path } = addEcho(1, { connectDelayMs: 5_000 });
    const started = performance.now();
    const connecting = rejectionOf(adapter.connect(path, { timeoutMs: 3_000 }));
    await eventually(() => device.connectCalls === 1, { what: 'the Connect' });
    simulator.removeAdapter();
    const failure = await connecting;
    expect(failure.kind).toBe('connect_aborted');
    expect(failure.message).toContain('br-connection-canceled');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('services that never resolve → services_timeout, and the link is let go', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1, { resolveDelayMs: 60_000 });
    const failure = await rejectionOf(adapter.connect(path, { timeoutMs: 2_000, resolveTimeoutMs: 200 }));
    expect(failure.kind).toBe('services_timeout');
    await eventually(() => !device.connected, { what: 'the device let go' });
  });

  it('services missing after a reconnect (resolved, no GATT objects) → services_missing', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    await (await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] })).disconnect();
    device.faults.servicesMissing = true;
    const failure = await rejectionOf(adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] }));
    expect(failure.kind).toBe('services_missing');
    expect(failure.message).toContain('no GATT objects at all');
    await eventually(() => !device.connected, { what: 'the device let go' });
    device.faults.servicesMissing = false;
    expect((await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] })).closed).toBe(false);
  });

  it('taken by another central: our link drops, and connects fail as taken_by_other_central until released', async () => {
    const { adapter, addEcho, client, simulator } = await gattRig(cleanups, {
      adapter: { takenAfterSilentMs: 200 },
    });
    const { device, path } = addEcho(1);
    await client.startDiscovery(ADAPTER_PATH);
    simulator.advertiseNow();
    await eventually(() => adapter.lastHeard(path) !== undefined, { what: 'the device heard' });
    await client.stopDiscovery(ADAPTER_PATH);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const lost: string[] = [];
    link.onLost((failure) => lost.push(failure.kind));
    device.faults.setTakenByOtherCentral(true);
    await eventually(() => lost.length === 1, { what: 'our link dropped' });
    expect(lost).toEqual(['disconnected']);
    // Right after, the silence is too short to blame anyone: an ordinary abort.
    expect((await rejectionOf(adapter.connect(path, { timeoutMs: 2_000 }))).kind).toBe('connect_aborted');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const taken = await rejectionOf(adapter.connect(path, { timeoutMs: 2_000 }));
    expect(taken.kind).toBe('taken_by_other_central');
    expect(taken.message).toMatch(/has not advertised/);
    device.faults.setTakenByOtherCentral(false);
    expect((await adapter.connect(path, { timeoutMs: 2_000 })).closed).toBe(false);
  });

  it('a piece lost mid-frame, garbled bytes and a late answer reach the caller as they came', async () => {
    const { adapter, addEcho } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const seen = collect(link);
    await link.startNotify(NOTIFY);

    device.faults.dropPiece(1);
    await link.write(WRITE, bytes(45), { withoutResponse: true });
    await eventually(() => joined(seen).length === 25, { what: 'the pieces left' });
    expect(seen.map((n) => n.value[0])).toEqual([1, 41]);

    seen.length = 0;
    device.faults.garbleNext((frame) => frame.map((b, i) => (i === frame.length - 1 ? b ^ 0xff : b)));
    await link.write(WRITE, bytes(3), { withoutResponse: true });
    await eventually(() => seen.length === 1, { what: 'the garbled echo' });
    expect(joined(seen)).toEqual([1, 2, 3 ^ 0xff]);

    seen.length = 0;
    device.inject(NOTIFY, Uint8Array.from([0xff, 0x83, 0x02]));
    await eventually(() => seen.length === 1, { what: 'the injected bytes' });
    expect(joined(seen)).toEqual([0xff, 0x83, 0x02]);

    seen.length = 0;
    device.faults.lateMs = 300;
    const sentAt = performance.now();
    await link.write(WRITE, bytes(2), { withoutResponse: true });
    await eventually(() => seen.length === 1, { what: 'the late echo' });
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(290);
  });

  it('a hung WriteValue fails as call_timeout within the method bound', async () => {
    const { adapter, addEcho, simulator } = await gattRig(cleanups);
    const { path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    simulator.hang('WriteValue');
    const started = performance.now();
    const failure = await rejectionOf(link.write(WRITE, bytes(8), { withoutResponse: true }));
    expect(failure.kind).toBe('call_timeout');
    expect(performance.now() - started).toBeLessThan(1_200);
    expect(link.closed).toBe(false);
  });

  it('bluetoothd leaving the bus ends every link as adapter_unavailable', async () => {
    const { adapter, addEcho, simulator } = await gattRig(cleanups, { simulator: { restartDelayMs: 100 } });
    const { path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const lost: string[] = [];
    link.onLost((failure) => lost.push(failure.kind));
    await simulator.restart();
    await eventually(() => lost.length === 1, { what: 'the link lost' });
    expect(lost).toEqual(['adapter_unavailable']);
    expect((await adapter.connect(path, { timeoutMs: 2_000, require: [WRITE, NOTIFY] })).closed).toBe(false);
  });

  it('adapter powered off: links drop, connects fail as adapter_unavailable until it is on again', async () => {
    const { adapter, addEcho, simulator } = await gattRig(cleanups);
    const { path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const lost: string[] = [];
    link.onLost((failure) => lost.push(failure.kind));
    simulator.powerOff();
    await eventually(() => lost.length === 1, { what: 'the link lost' });
    expect(lost).toEqual(['disconnected']);
    const failure = await rejectionOf(adapter.connect(path, { timeoutMs: 2_000 }));
    expect(failure.kind).toBe('adapter_unavailable');
    simulator.powerOn();
    expect((await adapter.connect(path, { timeoutMs: 2_000 })).closed).toBe(false);
  });

  it('another process connecting the same device at the same time gets in_progress from BlueZ', async () => {
    const { adapter, addEcho, simulator } = await gattRig(cleanups);
    const { device, path } = addEcho(1, { connectDelayMs: 300 });
    const { BluezClient } = await import('../src/drivers/ble/dbus/client.js');
    const { GattAdapter } = await import('../src/drivers/ble/gatt/index.js');
    const client = await BluezClient.connect({ busAddress: simulator.address });
    cleanups.push(() => client.close());
    const second = new GattAdapter({ client, adapterPath: ADAPTER_PATH });
    cleanups.push(() => second.close());
    const first = adapter.connect(path, { timeoutMs: 2_000 });
    await eventually(() => device.connectCalls === 1, { what: 'the first Connect' });
    expect((await rejectionOf(second.connect(path, { timeoutMs: 2_000 }))).kind).toBe('in_progress');
    // The loser sent no Disconnect (it would have cancelled the winner's connect).
    expect((await first).closed).toBe(false);
    expect(simulator.callCount('Device1.Disconnect')).toBe(0);
  });

  it("a client that leaves the bus loses its notify sessions, another client's stay", async () => {
    const { adapter, addEcho, simulator, client } = await gattRig(cleanups);
    const { device, path } = addEcho(1);
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const seen = collect(link);
    await link.startNotify(NOTIFY);
    const { BluezClient } = await import('../src/drivers/ble/dbus/client.js');
    const passer = await BluezClient.connect({ busAddress: simulator.address });
    const notifyPath = device.characteristicPath(NOTIFY) ?? '';
    await passer.callBluez({
      path: notifyPath,
      interface: 'org.bluez.GattCharacteristic1',
      member: 'StartNotify',
    });
    passer.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await link.write(WRITE, bytes(2), { withoutResponse: true });
    await eventually(() => seen.length === 1, { what: 'the echo to the client still there' });
    // Ours was the last session left: when it stops, Notifying goes false (the passer's went with it).
    const notifying = async () =>
      (await client.getManagedObjects()).get(notifyPath)?.gattCharacteristic?.notifying;
    expect(await notifying()).toBe(true);
    await client.callBluez({
      path: notifyPath,
      interface: 'org.bluez.GattCharacteristic1',
      member: 'StopNotify',
    });
    expect(await notifying()).toBe(false);
  });

  it('the control lines drive the same faults (add-echo, gatt MAC FAULT, reset-adapter)', async () => {
    const { adapter, simulator } = await gattRig(cleanups);
    const added = await simulator.execute('add-echo');
    const mac = /echo device (\S+) added/.exec(added)?.[1] ?? '';
    const path = adapter.devicePath(mac);
    expect(await simulator.execute(`gatt ${mac.toLowerCase()} abort 2`)).toContain(
      'the next 2 Connect(s) abort',
    );
    expect((await rejectionOf(adapter.connect(path, { timeoutMs: 2_000 }))).kind).toBe('connect_aborted');
    expect((await rejectionOf(adapter.connect(path, { timeoutMs: 2_000 }))).kind).toBe('connect_aborted');
    const link = await adapter.connect(path, { timeoutMs: 2_000 });
    const lost: string[] = [];
    link.onLost((failure) => lost.push(failure.kind));
    await simulator.execute(`gatt ${mac} drop-link`);
    await eventually(() => lost.length === 1, { what: 'the dropped link' });
    await simulator.execute(`gatt ${mac} hang`);
    expect((await rejectionOf(adapter.connect(path, { timeoutMs: 200 }))).kind).toBe('connect_timeout');
    await simulator.execute(`gatt ${mac} clear`);
    expect(await simulator.execute('reset-adapter')).toBe('adapter reset');
    expect((await adapter.connect(path, { timeoutMs: 2_000 })).closed).toBe(false);
    expect(await simulator.execute('gatt 00:11:22:33:44:55 take')).toMatch(/no connectable device/);
    expect(await simulator.execute(`gatt ${mac} explode`)).toMatch(/unknown fault "explode"/);
    expect(await simulator.execute(`gatt ${mac} late soon`)).toMatch(/MS must be a whole number/);
    expect(await simulator.execute('gatt nowhere abort')).toMatch(/not a Bluetooth address/);
  });
});
