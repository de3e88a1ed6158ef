import { eventually } from './helpers/eventually.js';
import { PassThrough } from 'node:stream';
import dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAdvertisement } from '../src/drivers/ble/codec/index.js';
import { ControlError, parseControlCommand } from '../src/drivers/shared/bluez/simulator/control.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import {
  BTHOME_UUID,
  encodeBthome,
  encodePvvx,
  encodeRuuviDf5,
  PVVX_UUID,
  RUUVI_COMPANY_ID,
} from '../src/drivers/shared/bluez/simulator/encode.js';
import {
  callKey,
  callKeyAliases,
  FaultError,
  hangMatches,
  parseHangPattern,
} from '../src/drivers/shared/bluez/simulator/faults.js';
import {
  type Advertisement,
  defaultSensors,
  EXAMPLE_BIND_KEY,
  SimSensor,
} from '../src/drivers/shared/bluez/simulator/sensors.js';
import { BluezSimulator } from '../src/drivers/shared/bluez/simulator/simulator.js';
import { createSimulateCommand } from '../src/cli/simulate.js';
import { runCli } from '../src/cli/run.js';

// The fake BlueZ the BLE driver is tested against: its encoders (checked against published vectors and
// the BLE codec), and the org.bluez service on a private dbus-daemon seen by a plain dbus-next client,
// with every fault it can play.

const DBUS_DAEMON = findDbusDaemon();
if (DBUS_DAEMON === undefined) {
  console.warn(
    'ble-simulator.test.ts: dbus-daemon is not installed (apt-get install dbus-daemon); D-Bus tests skipped',
  );
}

type Bus = ReturnType<typeof dbus.sessionBus>;
type Message = InstanceType<typeof dbus.Message>;
type Variant = InstanceType<typeof dbus.Variant>;

const ADAPTER = '/org/bluez/hci0';
const ADAPTER1 = 'org.bluez.Adapter1';
const DEVICE1 = 'org.bluez.Device1';
const PROPERTIES = 'org.freedesktop.DBus.Properties';
const OBJECT_MANAGER = 'org.freedesktop.DBus.ObjectManager';

function hex(bytes: Buffer): string {
  return bytes.toString('hex');
}

/** What decodeAdvertisement is given: the simulator's advertisement, as the driver would see it. */
function decode(sensor: SimSensor, advertisement: Advertisement) {
  return decodeAdvertisement({
    serviceData: advertisement.serviceData,
    manufacturerData: advertisement.manufacturerData,
    mac: sensor.spec.mac,
    ...(sensor.spec.bindKey === undefined ? {} : { bindKey: sensor.spec.bindKey }),
  });
}

describe('BLE simulator: encoders', () => {
  it('encrypts BTHome v2 exactly as the bthome.io example (AES-CCM, nonce MAC + D2FC + info + counter)', () => {
    const bytes = encodeBthome(
      { temperature: 25.06, humidity: 50.55 },
      { bindKey: EXAMPLE_BIND_KEY, mac: '54:48:E6:8F:80:A5', counter: 0x33221100 },
    );
    expect(hex(bytes)).toBe('41' + 'a47266c95f73' + '00112233' + '78237214');
  });

  it('writes plain BTHome v2 objects in id order, little-endian', () => {
    const bytes = encodeBthome({
      voltage: 2.944,
      humidity: 51.2,
      temperature: 23.45,
      battery: 93,
      packetId: 5,
    });
    expect(hex(bytes)).toBe('40' + '0005' + '015d' + '022909' + '030014' + '0c800b');
    expect(() => encodeBthome({ temperature: 400 })).toThrow(/does not fit/);
  });

  it("writes Ruuvi format 5 as Ruuvi's published valid-data vector", () => {
    const bytes = encodeRuuviDf5({
      temperature: 24.3,
      humidity: 53.49,
      pressure: 100_044,
      accelerationX: 4,
      accelerationY: -4,
      accelerationZ: 1036,
      batteryVoltage: 2977,
      txPower: 4,
      movementCounter: 66,
      measurementSequence: 205,
      mac: 'CB:B8:33:4C:88:4F',
    });
    expect(hex(bytes).toUpperCase()).toBe('0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F');
  });

  it('writes the pvvx custom format: reversed MAC, little-endian values', () => {
    const bytes = encodePvvx({
      mac: 'A4:C1:38:B0:00:01',
      temperature: 21.5,
      humidity: 45.67,
      batteryMv: 2980,
      battery: 78,
      counter: 9,
    });
    expect(hex(bytes)).toBe('0100b038c1a4' + '6608' + 'd711' + 'a40b' + '4e' + '09' + '00');
  });

  it('makes sensors whose every advertisement the BLE codec decodes back to the same values', () => {
    const sensors = defaultSensors(4, 7).map((spec) => new SimSensor(spec, 7));
    expect(sensors.map((sensor) => sensor.spec.kind)).toEqual(['bthome', 'ruuvi', 'bthome', 'pvvx']);
    expect(sensors[2]?.spec.bindKey).toBe(EXAMPLE_BIND_KEY);
    for (const sensor of sensors) {
      for (let n = 0; n < 5; n++) {
        const advertisement = sensor.next();
        const reading = decode(sensor, advertisement);
        const { values } = advertisement;
        expect(reading?.values.temperature).toBeCloseTo(values.temperature, 6);
        expect(reading?.values.humidity).toBeCloseTo(values.humidity, 6);
        expect(reading?.values.voltage).toBeCloseTo(values.voltage, 6);
        if (sensor.spec.kind === 'ruuvi') {
          expect(reading?.values.pressure).toBeCloseTo(values.pressure ?? 0, 6);
          expect(reading?.values.acceleration_z).toBeCloseTo((values.acceleration?.z ?? 0) / 1000, 6);
          expect(reading?.packetId).toBe(advertisement.sequence);
        } else {
          expect(reading?.values.battery).toBe(values.battery);
        }
        expect(reading?.encrypted).toBe(sensor.spec.bindKey !== undefined);
        if (sensor.spec.bindKey !== undefined)
          expect(reading?.encryptionCounter).toBe(advertisement.sequence);
      }
    }
    // Same seed, same bytes: tests can rely on the values.
    const again = new SimSensor(defaultSensors(1, 7)[0]!, 7);
    const first = new SimSensor(defaultSensors(1, 7)[0]!, 7);
    expect(again.next().serviceData[BTHOME_UUID]).toEqual(first.next().serviceData[BTHOME_UUID]);
  });
});

describe('BLE simulator: control lines and hang patterns', () => {
  it('parses the commands and names the problem of a bad one', () => {
    expect(parseControlCommand('hang StartDiscovery')).toEqual({ kind: 'hang', method: 'StartDiscovery' });
    expect(parseControlCommand('unhang')).toEqual({ kind: 'unhang', method: undefined });
    expect(parseControlCommand('  restart 250 ')).toEqual({ kind: 'restart', delayMs: 250 });
    expect(parseControlCommand('add-sensor bthome-encrypted')).toEqual({
      kind: 'add-sensor',
      sensor: 'bthome',
      encrypted: true,
    });
    expect(parseControlCommand('poweroff')).toEqual({ kind: 'power', on: false });
    expect(parseControlCommand('# comment')).toBeUndefined();
    expect(() => parseControlCommand('hang')).toThrow(ControlError);
    expect(() => parseControlCommand('restart soon')).toThrow(/whole number/);
    expect(() => parseControlCommand('explode')).toThrow(/unknown command "explode"/);
  });

  it('matches hang patterns against calls, and counts under every alias', () => {
    const get = { path: ADAPTER, interface: PROPERTIES, member: 'Get', sender: ':1.9', target: 'Powered' };
    expect(parseHangPattern('Properties.Get')).toBe('Properties.Get');
    expect(parseHangPattern('org.freedesktop.DBus.Properties.Get(Powered)')).toBe('Properties.Get(Powered)');
    expect(parseHangPattern('all')).toBe('*');
    expect(() => parseHangPattern('StartDiscovry')).toThrow(FaultError);
    expect(() => parseHangPattern('StartDiscovery(Powered)')).toThrow(/only goes with Get or Set/);
    expect(hangMatches('Get', get)).toBe(true);
    expect(hangMatches('Properties.Get(Discovering)', get)).toBe(false);
    expect(hangMatches('Adapter1.Get', get)).toBe(false);
    expect(callKey(get)).toBe('Properties.Get(Powered)');
    expect(callKeyAliases('Properties.Get(Powered)')).toEqual([
      'Properties.Get(Powered)',
      'Get',
      'Properties.Get',
      'Get(Powered)',
    ]);
  });
});

async function connect(address: string): Promise<Bus> {
  const bus = dbus.sessionBus({ busAddress: address });
  await new Promise<void>((resolve, reject) => {
    bus.once('connect', () => resolve());
    bus.once('error', reject);
  });
  bus.on('error', () => undefined);
  return bus;
}

interface CallOptions {
  path: string;
  iface: string;
  member: string;
  signature?: string;
  body?: unknown[];
  destination?: string;
  /** A client-side timeout, as every D-Bus client needs against a wedged bluetoothd. */
  timeoutMs?: number;
}

async function call(bus: Bus, options: CallOptions): Promise<unknown[]> {
  const message = new dbus.Message({
    destination: options.destination ?? 'org.bluez',
    path: options.path,
    interface: options.iface,
    member: options.member,
    signature: options.signature ?? '',
    body: options.body ?? [],
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${options.member} timed out`)), options.timeoutMs ?? 2000);
  });
  try {
    const answer = bus.call(message);
    // After a client timeout the call may still fail later (NoReply when bluetoothd restarts): not a test error.
    answer.catch(() => undefined);
    const reply = await Promise.race([answer, timeout]);
    return (reply?.body ?? []) as unknown[];
  } finally {
    clearTimeout(timer);
  }
}

const getProperty = async (bus: Bus, path: string, iface: string, name: string, timeoutMs?: number) =>
  (
    (
      await call(bus, {
        path,
        iface: PROPERTIES,
        member: 'Get',
        signature: 'ss',
        body: [iface, name],
        timeoutMs,
      })
    )[0] as Variant
  ).value;

const setPowered = (bus: Bus, on: boolean, timeoutMs?: number) =>
  call(bus, {
    path: ADAPTER,
    iface: PROPERTIES,
    member: 'Set',
    signature: 'ssv',
    body: [ADAPTER1, 'Powered', new dbus.Variant('b', on)],
    timeoutMs,
  });

const adapterCall = (bus: Bus, member: string, timeoutMs?: number) =>
  call(bus, { path: ADAPTER, iface: ADAPTER1, member, timeoutMs });

type ManagedObjects = Record<string, Record<string, Record<string, Variant>>>;
const managedObjects = async (bus: Bus) =>
  (await call(bus, { path: '/', iface: OBJECT_MANAGER, member: 'GetManagedObjects' }))[0] as ManagedObjects;

/** Every signal the client gets, with a wait for the next one that matches. */
class SignalLog {
  readonly signals: Message[] = [];
  readonly #waiters = new Set<() => void>();

  static async attach(bus: Bus): Promise<SignalLog> {
    const log = new SignalLog();
    bus.on('message', (message: Message) => {
      if (message.type !== dbus.MessageType.SIGNAL) return;
      log.signals.push(message);
      for (const wake of log.#waiters) wake();
    });
    await call(bus, {
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      iface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: ["type='signal'"],
    });
    return log;
  }

  get mark(): number {
    return this.signals.length;
  }

  /** The first signal from index `from` on that matches, waiting up to `timeoutMs`. */
  async next(from: number, match: (message: Message) => boolean, timeoutMs = 2000): Promise<Message> {
    const find = () => this.signals.slice(from).find(match);
    const found = find();
    if (found !== undefined) return found;
    return new Promise((resolve, reject) => {
      const wake = () => {
        const hit = find();
        if (hit === undefined) return;
        cleanup();
        resolve(hit);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching signal within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      this.#waiters.add(wake);
    });
  }

  since(from: number, match: (message: Message) => boolean): Message[] {
    return this.signals.slice(from).filter(match);
  }
}

const isMember = (member: string, path?: string) => (message: Message) =>
  message.member === member && (path === undefined || message.path === path || message.body[0] === path);

/** PropertiesChanged of `iface` at `path` that changes `property`. */
const changes = (path: string, iface: string, property: string) => (message: Message) =>
  message.member === 'PropertiesChanged' &&
  message.path === path &&
  message.body[0] === iface &&
  property in (message.body[1] as object);

describe.skipIf(DBUS_DAEMON === undefined)('fake BlueZ on a private dbus-daemon', () => {
  let simulator: BluezSimulator;
  let client: Bus;
  let signals: SignalLog;
  const lines: string[] = [];

  beforeAll(async () => {
    // intervalMs 0: advertisements only on advertiseNow(), so every test decides when sensors speak.
    simulator = new BluezSimulator({
      intervalMs: 0,
      restartDelayMs: 150,
      seed: 3,
      log: (line) => lines.push(line),
    });
    await simulator.start();
    client = await connect(simulator.address);
    signals = await SignalLog.attach(client);
  });

  afterAll(async () => {
    client?.disconnect();
    await simulator?.stop();
  });

  const devicePathOf = (sensor: SimSensor) => `${ADAPTER}/dev_${sensor.spec.mac.replace(/:/g, '_')}`;

  it('serves the adapter and the cached sensors through GetManagedObjects', async () => {
    expect(simulator.address).toMatch(/^unix:path=\/.+\/bus/);
    const objects = await managedObjects(client);
    const adapter = objects[ADAPTER]?.[ADAPTER1];
    expect(adapter?.Address?.value).toBe('00:1A:7D:DA:71:13');
    expect(adapter?.Powered?.value).toBe(true);
    expect(adapter?.Discovering?.value).toBe(false);
    expect(simulator.sensors).toHaveLength(3);
    for (const sensor of simulator.sensors) {
      const device = objects[devicePathOf(sensor)]?.[DEVICE1];
      expect(device?.Address?.value).toBe(sensor.spec.mac);
      expect(device?.AddressType?.value).toBe(sensor.spec.addressType);
      expect(device?.Name?.value).toBe(sensor.spec.name);
      // Not heard yet: BlueZ has no RSSI or data for it.
      expect(device?.RSSI).toBeUndefined();
    }
    await expect(getProperty(client, devicePathOf(simulator.sensors[0]!), DEVICE1, 'RSSI')).rejects.toThrow(
      /No such property/,
    );
  });

  it('advertises with PropertiesChanged while discovering, and the codec decodes the bytes', async () => {
    expect(simulator.advertiseNow()).toBe(0);
    await call(client, {
      path: ADAPTER,
      iface: ADAPTER1,
      member: 'SetDiscoveryFilter',
      signature: 'a{sv}',
      body: [{ Transport: new dbus.Variant('s', 'le'), DuplicateData: new dbus.Variant('b', true) }],
    });
    const mark = signals.mark;
    await adapterCall(client, 'StartDiscovery');
    await signals.next(mark, changes(ADAPTER, ADAPTER1, 'Discovering'));
    expect(simulator.adapterStatus()).toMatchObject({
      discovering: true,
      filter: { Transport: 'le', DuplicateData: true },
    });
    await expect(adapterCall(client, 'StartDiscovery')).rejects.toThrow(/already in progress/);

    const before = signals.mark;
    expect(simulator.advertiseNow()).toBe(3);
    for (const sensor of simulator.sensors) {
      const signal = await signals.next(before, changes(devicePathOf(sensor), DEVICE1, 'RSSI'));
      const changed = signal.body[1] as Record<string, Variant>;
      const serviceData = (changed.ServiceData?.value ?? {}) as Record<string, Variant>;
      const manufacturerData = (changed.ManufacturerData?.value ?? {}) as Record<string, Variant>;
      const reading = decodeAdvertisement({
        serviceData: Object.fromEntries(
          Object.entries(serviceData).map(([uuid, bytes]) => [uuid, bytes.value as Buffer]),
        ),
        manufacturerData: Object.fromEntries(
          Object.entries(manufacturerData).map(([id, bytes]) => [Number(id), bytes.value as Buffer]),
        ),
        mac: sensor.spec.mac,
        ...(sensor.spec.bindKey === undefined ? {} : { bindKey: sensor.spec.bindKey }),
      });
      expect(changed.RSSI?.signature).toBe('n');
      expect(changed.RSSI?.value).toBe(sensor.last?.rssi);
      expect(reading?.values.temperature).toBeCloseTo(sensor.last?.values.temperature ?? NaN, 6);
      if (sensor.spec.kind === 'ruuvi') {
        expect(changed.ManufacturerData?.signature).toBe('a{qv}');
        expect(Object.keys(manufacturerData)).toEqual([String(RUUVI_COMPANY_ID)]);
      } else {
        expect(Object.keys(serviceData)).toEqual([BTHOME_UUID]);
      }
    }
    // And now GetAll has the values too.
    const [all] = await call(client, {
      path: devicePathOf(simulator.sensors[0]!),
      iface: PROPERTIES,
      member: 'GetAll',
      signature: 's',
      body: [DEVICE1],
    });
    expect((all as Record<string, Variant>).RSSI?.value).toBe(simulator.sensors[0]?.last?.rssi);
  });

  it('exports a new sensor with InterfacesAdded at its first advertisement; RemoveDevice drops it until the next', async () => {
    const sensor = simulator.addSensor('pvvx');
    const path = devicePathOf(sensor);
    let mark = signals.mark;
    simulator.advertiseNow();
    const added = await signals.next(mark, isMember('InterfacesAdded', path));
    const device = (added.body[1] as Record<string, Record<string, Variant>>)[DEVICE1];
    expect(device?.Address?.value).toBe(sensor.spec.mac);
    expect(Object.keys((device?.ServiceData?.value ?? {}) as object)).toEqual([PVVX_UUID]);

    mark = signals.mark;
    await call(client, {
      path: ADAPTER,
      iface: ADAPTER1,
      member: 'RemoveDevice',
      signature: 'o',
      body: [path],
    });
    const removed = await signals.next(mark, isMember('InterfacesRemoved', path));
    expect(removed.body[1]).toContain(DEVICE1);
    await expect(
      call(client, { path: ADAPTER, iface: ADAPTER1, member: 'RemoveDevice', signature: 'o', body: [path] }),
    ).rejects.toThrow(/Does Not Exist/);
    mark = signals.mark;
    simulator.advertiseNow();
    await signals.next(mark, isMember('InterfacesAdded', path));
  });

  it('hang: the call is never answered (a client timeout fires) and counted; unhang answers again', async () => {
    simulator.resetCalls();
    simulator.hang('StartDiscovery');
    simulator.hang('Properties.Get(Discovering)');
    await adapterCall(client, 'StopDiscovery');
    await expect(adapterCall(client, 'StartDiscovery', 300)).rejects.toThrow(/timed out/);
    await expect(getProperty(client, ADAPTER, ADAPTER1, 'Discovering', 300)).rejects.toThrow(/timed out/);
    // Only Get of Discovering hangs; Get of Powered and GetAll still answer.
    expect(await getProperty(client, ADAPTER, ADAPTER1, 'Powered')).toBe(true);
    expect(simulator.callCount('StartDiscovery')).toBe(1);
    expect(simulator.callCount('Get(Discovering)')).toBe(1);
    expect(simulator.callCount('Properties.Get')).toBe(2);
    expect(simulator.calls.filter((record) => record.hung).map((record) => record.key)).toEqual([
      'Adapter1.StartDiscovery',
      'Properties.Get(Discovering)',
    ]);
    simulator.unhang();
    await adapterCall(client, 'StartDiscovery');
    expect(simulator.callCount('Adapter1.StartDiscovery')).toBe(2);
    expect(simulator.adapterStatus().discovering).toBe(true);
  });

  it('stuck: Discovering stays true and nothing is advertised; a power cycle clears it', async () => {
    simulator.setStuck(true);
    const mark = signals.mark;
    expect(simulator.advertiseNow()).toBe(0);
    expect(await getProperty(client, ADAPTER, ADAPTER1, 'Discovering')).toBe(true);
    expect(signals.since(mark, isMember('PropertiesChanged')).filter((s) => s.body[0] === DEVICE1)).toEqual(
      [],
    );
    simulator.resetCalls();
    await setPowered(client, false);
    await setPowered(client, true);
    expect(simulator.callCount('Set(Powered)')).toBe(2);
    expect(simulator.faults.stuck).toBe(false);
    await adapterCall(client, 'StartDiscovery');
    expect(simulator.advertiseNow()).toBe(4);
  });

  it('poweroff: Powered and Discovering go false with PropertiesChanged; discovery then fails until powered on', async () => {
    const mark = signals.mark;
    simulator.powerOff();
    const signal = await signals.next(mark, changes(ADAPTER, ADAPTER1, 'Powered'));
    expect((signal.body[1] as Record<string, Variant>).Powered?.value).toBe(false);
    expect((signal.body[1] as Record<string, Variant>).Discovering?.value).toBe(false);
    await expect(adapterCall(client, 'StartDiscovery')).rejects.toThrow(/Not Ready/);
    await setPowered(client, true);
    await adapterCall(client, 'StartDiscovery');
    expect(simulator.adapterStatus()).toMatchObject({ powered: true, discovering: true });
  });

  it('remove-adapter / add-adapter: InterfacesRemoved for devices and hci0, then InterfacesAdded, powered and idle', async () => {
    let mark = signals.mark;
    simulator.removeAdapter();
    await signals.next(mark, isMember('InterfacesRemoved', ADAPTER));
    expect(signals.since(mark, isMember('InterfacesRemoved')).length).toBe(5);
    await expect(adapterCall(client, 'StartDiscovery')).rejects.toThrow(/No such object path/);
    expect(Object.keys(await managedObjects(client))).toEqual([]);
    mark = signals.mark;
    simulator.addAdapter();
    const added = await signals.next(mark, isMember('InterfacesAdded', ADAPTER));
    const adapter = (added.body[1] as Record<string, Record<string, Variant>>)[ADAPTER1];
    expect(adapter?.Powered?.value).toBe(true);
    expect(adapter?.Discovering?.value).toBe(false);
    expect(Object.keys(await managedObjects(client))).toHaveLength(5);
  });

  it('restart: org.bluez loses its owner, comes back under a new one with fresh objects and no faults', async () => {
    await adapterCall(client, 'StartDiscovery');
    simulator.hang('GetManagedObjects');
    // Hung in the old bluetoothd: the bus answers it with an error when that process goes.
    const pending = expect(
      call(client, { path: '/', iface: OBJECT_MANAGER, member: 'GetManagedObjects', timeoutMs: 3000 }),
    ).rejects.toThrow(/disconnected from message bus without replying/);
    const oldOwner = simulator.uniqueName;
    const mark = signals.mark;
    const nameChange = (message: Message) =>
      message.member === 'NameOwnerChanged' && message.body[0] === 'org.bluez';
    await simulator.restart();
    await pending;
    const back = await signals.next(mark, (message) => nameChange(message) && message.body[2] !== '');
    const [lost] = signals.since(mark, nameChange);
    expect(signals.signals.indexOf(lost!)).toBeLessThan(signals.signals.indexOf(back));
    expect(lost?.body).toEqual(['org.bluez', oldOwner, '']);
    expect(back.body[1]).toBe('');
    expect(back.body[2]).toBe(simulator.uniqueName);
    expect(simulator.uniqueName).not.toBe(oldOwner);
    const objects = await managedObjects(client);
    expect(objects[ADAPTER]?.[ADAPTER1]?.Discovering?.value).toBe(false);
    expect(simulator.faults).toEqual({ hung: [], stuck: false });
  });

  it('ends a discovery session when its client leaves the bus', async () => {
    const other = await connect(simulator.address);
    await adapterCall(other, 'StartDiscovery');
    expect(simulator.adapterStatus().discovering).toBe(true);
    const mark = signals.mark;
    other.disconnect();
    await signals.next(mark, changes(ADAPTER, ADAPTER1, 'Discovering'));
    // The signal can arrive before the simulator's own view has caught up with the client leaving.
    await eventually(() => !simulator.adapterStatus().discovering, { what: 'discovery ended' });
    expect(simulator.adapterStatus()).toMatchObject({ discovering: false, scanningClients: [] });
  });

  it('runs control lines: faults, status, and errors that do not stop it', async () => {
    simulator.resetCalls();
    expect(await simulator.execute('hang Set(Powered)')).toBe('hanging Set(Powered)');
    await expect(setPowered(client, false, 300)).rejects.toThrow(/timed out/);
    expect(await simulator.execute('unhang Set(Powered)')).toMatch(/nothing hung/);
    expect(await simulator.execute('add-adapter')).toMatch(/^error: .*present already/);
    expect(await simulator.execute('bogus')).toMatch(/^error: unknown command/);
    const status = await simulator.execute('status');
    expect(status).toMatch(/^running on unix:path=/);
    expect(status).toContain('Properties.Set(Powered) 1');
  });

  it('advertises on its own every intervalMs while a client scans', async () => {
    const own = new BluezSimulator({ intervalMs: 40, sensors: defaultSensors(1, 5) });
    await own.start();
    const bus = await connect(own.address);
    try {
      const log = await SignalLog.attach(bus);
      await adapterCall(bus, 'StartDiscovery');
      const path = `${ADAPTER}/dev_${own.sensors[0]!.spec.mac.replace(/:/g, '_')}`;
      const first = await log.next(0, changes(path, DEVICE1, 'ServiceData'));
      await log.next(log.signals.indexOf(first) + 1, changes(path, DEVICE1, 'ServiceData'));
      expect(own.sensors[0]!.last?.sequence).toBeGreaterThanOrEqual(2);
    } finally {
      bus.disconnect();
      await own.stop();
    }
  });
});

describe.skipIf(DBUS_DAEMON === undefined)('fieldbridge simulate bluez', () => {
  it('starts a bus, prints its address first, takes stdin commands and stops on SIGINT', async () => {
    let stdout = '';
    const stdin = new PassThrough();
    const handlers = new Map<string, () => void>();
    const command = createSimulateCommand({
      stdin,
      onSignal: (signal, handler) => {
        handlers.set(signal, handler);
        return () => handlers.delete(signal);
      },
    });
    const io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      env: {},
      cwd: '/',
    };
    const running = command.run(['bluez', '--start-bus', '--sensors', '2', '--interval-ms', '50'], {
      io,
      dependencies: { runGateway: async () => 0 },
    });
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(check()).toBe(true);
    };
    try {
      await until(() => handlers.has('SIGINT'));
      const address = stdout.split('\n')[0] ?? '';
      expect(address).toMatch(/^unix:path=/);
      const bus = await connect(address);
      expect(Object.keys(await managedObjects(bus))).toHaveLength(3);
      bus.disconnect();
      stdin.write('hang StartDiscovery\nstatus\n');
      await until(() => stdout.includes('hung: StartDiscovery'));
    } finally {
      // Stopped whatever failed above: the private dbus-daemon must not outlive the test.
      handlers.get('SIGINT')?.();
      expect(await running).toBe(0);
    }
    expect(stdout).toContain('bluez-sim: stopped');
  });

  it.each([
    [['simulate', 'bluez', '--start-bus', '--bus-address', 'unix:path=/tmp/x'], 'exclude each other'],
    [['simulate', 'bluez', '--bus-address', 'unix:abstract=x'], 'must be unix:path='],
    [['simulate', 'bluez', '--sensors', 'many'], '--sensors must be a whole number'],
    [['simulate', 'bluez', '--link', '/tmp/x'], 'unknown option --link'],
  ])('%j is a usage error: %s', async (argv, message) => {
    let stderr = '';
    const io = {
      stdout: { write: () => true },
      stderr: { write: (text: string) => (stderr += text) },
      env: {},
      cwd: '/',
    };
    expect(await runCli(argv, io, { runGateway: async () => 0 })).toBe(2);
    expect(stderr).toContain(message);
  });
});
