import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayClock } from '../src/machines/clock.js';
import {
  BROADCAST_DEVICE,
  buildDiscoveryRequest,
  buildIdentifyGatewayRequest,
  getDeviceParameters,
  getEnergy,
  getGroups,
  getScenes,
  getSensorArguments,
  getSensorOnOff,
  getVersion,
  identifyDevice,
  type InboundMessage,
  lightProperties,
  parseDiscoveryResponse,
  parseIdentifyGatewayReply,
  readDevices,
  readGroup,
  readScene,
  searchCachedDevices,
  setSensorOnOff,
  startBusScan,
  writeGroup,
  writeLight,
  writeScene,
} from '../src/drivers/dalicenter/codec/index.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { connackRefusal, GatewayClient, UdpListener } from './helpers/daliCenter.js';

// The simulated DALI Center gateway through real sockets: UDP discovery on 127.0.0.1 (replies sent where
// the SDK listens, here a test socket's port), its Aedes broker through a real mqtt.js client, every
// command of the notes answered with the notes' shapes as the codec's parser reads them.

/** Wall-clock timers, but a `now` the test moves (the button window). */
function steppedClock(): GatewayClock & { advance(ms: number): void } {
  let offset = 0;
  return {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    now: () => Date.now() + offset,
    advance: (ms) => (offset += ms),
  };
}

let gateway: SimulatedDaliCenter;
let listener: UdpListener;
let clock: ReturnType<typeof steppedClock>;
const clients: GatewayClient[] = [];

beforeEach(async () => {
  listener = await UdpListener.open();
  clock = steppedClock();
  gateway = new SimulatedDaliCenter({
    clock,
    discovery: { bindAddress: '127.0.0.1', port: 0, replyRoutes: ['unicast'], replyPort: listener.port },
    scanStepMs: 20,
    searchChunkSize: 4,
  });
  await gateway.start();
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await gateway.stop();
  await listener.close();
});

async function connect(): Promise<GatewayClient> {
  const client = await GatewayClient.connect(gateway);
  clients.push(client);
  return client;
}

describe('DALI Center simulator: discovery over UDP', () => {
  it('answers without credentials until the button is pressed, then with them, until the window ends', async () => {
    await listener.send(buildDiscoveryRequest(), gateway.discoveryPort!);
    await listener.waitForCount(1);
    const before = parseDiscoveryResponse(listener.received[0]!);
    expect(before).toEqual({
      ok: true,
      value: {
        serial: '6A242121110E',
        address: '127.0.0.1',
        port: gateway.mqttPort,
        tls: false,
        channels: [0],
        name: 'Dali Gateway 6A242121110E',
      },
    });

    gateway.pressButton(10_000);
    await listener.send(buildDiscoveryRequest(), gateway.discoveryPort!);
    await listener.waitForCount(2);
    const during = parseDiscoveryResponse(listener.received[1]!);
    expect(during.ok && during.value.credentials).toEqual({ username: 'admin', password: 'password123' });

    clock.advance(10_001);
    await listener.send(buildDiscoveryRequest(), gateway.discoveryPort!);
    await listener.waitForCount(3);
    const after = parseDiscoveryResponse(listener.received[2]!);
    expect(after.ok && after.value.credentials).toBeUndefined();
  });

  it('answers a request targeted at it (snList or gwSn), ignores one for another serial and garbage', async () => {
    await listener.send(buildDiscoveryRequest({ targetSerial: '0225020273AC' }), gateway.discoveryPort!);
    await listener.send(Buffer.from('{"cmd": "0011", "type": "HA"}'), gateway.discoveryPort!);
    await listener.send(Buffer.from([0xde, 0xad]), gateway.discoveryPort!);
    await listener.send(
      buildDiscoveryRequest({ targetSerial: gateway.serial, targetStyle: 'gwSn' }),
      gateway.discoveryPort!,
    );
    await listener.send(buildDiscoveryRequest({ targetSerial: gateway.serial }), gateway.discoveryPort!);
    await listener.waitForCount(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(listener.received).toHaveLength(2);
    expect(gateway.discoveryLog.map((event) => event.kind)).toEqual([
      'ignored',
      'ignored',
      'ignored',
      'answered',
      'answered',
    ]);
  });

  it('identify gateway: answered with the single-layer identifyDevRes', async () => {
    await listener.send(buildIdentifyGatewayRequest(gateway.serial, '1760000000'), gateway.discoveryPort!);
    await listener.waitForCount(1);
    expect(parseIdentifyGatewayReply(listener.received[0]!)).toEqual({
      ok: true,
      value: { serial: gateway.serial, ack: true },
    });
  });
});

describe('DALI Center simulator: logins', () => {
  it('refuses a wrong password with CONNACK 4 and no credentials with 4, accepts the right ones', async () => {
    expect(await connackRefusal(gateway, { username: 'admin', password: 'wrong' })).toBe(4);
    expect(await connackRefusal(gateway, {})).toBe(4);
    expect(await connackRefusal(gateway, { username: 'admin', password: 'password123' })).toBeUndefined();
  });

  it('refuses with CONNACK 5 when so configured', async () => {
    const strict = new SimulatedDaliCenter({ serial: '26250205591A', discovery: false, refusalCode: 5 });
    await strict.start();
    try {
      expect(await connackRefusal(strict, { username: 'admin', password: 'nope' })).toBe(5);
    } finally {
      await strict.stop();
    }
  });
});

describe("DALI Center simulator: commands answered with the notes' shapes", () => {
  it('getVersion echoes msgId; the cached device list arrives in several messages, last with status 1', async () => {
    const client = await connect();
    const msgId = await client.send(getVersion());
    const [version] = await client.waitFor((message) => message.cmd === 'getVersionRes');
    expect(version).toMatchObject({
      cmd: 'getVersionRes',
      msgId,
      gwSn: gateway.serial,
      software: '3.72',
      firmware: '1.47',
    });

    await client.send(searchCachedDevices());
    const [last] = await client.waitFor(
      (message) => message.cmd === 'searchDevRes' && message.searchStatus === 1,
    );
    const chunks = client
      .messages()
      .filter(
        (message): message is Extract<InboundMessage, { cmd: 'searchDevRes' }> =>
          message.cmd === 'searchDevRes',
      );
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((chunk) => chunk.searchStatus)).toEqual([...Array(chunks.length - 1).fill(3), 1]);
    const devices = chunks.flatMap((chunk) => chunk.devices);
    expect(devices).toHaveLength(gateway.line.devices.size);
    expect(new Set(devices.map((device) => device.deviceClass.kind))).toEqual(
      new Set(['light', 'motion', 'illuminance', 'panel']),
    );
    expect(devices.every((device) => device.devId === device.uniqueId && device.online)).toBe(true);
    expect(last).toBeDefined();
    expect(client.results.every((result) => result.ok && result.problems.length === 0)).toBe(true);
  });

  it('groups and scenes: lists, members, a scene member that is a group', async () => {
    const client = await connect();
    await client.send(getGroups());
    await client.send(readGroup(0, 0));
    await client.send(getScenes());
    await client.send(readScene(0, 0));
    const [groups] = await client.waitFor((message) => message.cmd === 'getGroupRes');
    expect(groups).toMatchObject({
      groups: [
        { groupId: 0, name: 'Office' },
        { groupId: 1, name: 'Colour' },
      ],
    });
    const [members] = await client.waitFor((message) => message.cmd === 'readGroupRes');
    expect(members).toMatchObject({
      group: { groupId: 0 },
      members: [
        { devType: '0101', address: 0 },
        { devType: '0102', address: 1 },
      ],
    });
    const [scenes] = await client.waitFor((message) => message.cmd === 'getSceneRes');
    expect(scenes).toMatchObject({
      scenes: [
        { sceneId: 0, name: 'Evening' },
        { sceneId: 1, name: 'Off' },
      ],
    });
    const [scene] = await client.waitFor((message) => message.cmd === 'readSceneRes');
    expect(scene).toMatchObject({
      members: [
        { isGroup: false, device: { address: 0 } },
        { isGroup: true, device: { address: 1 }, gwSnObj: gateway.serial },
      ],
    });
  });

  it('writeDev: ack, then the confirmed state as devStatus; readDev reads it back', async () => {
    const client = await connect();
    const msgId = await client.send(
      writeLight({ devType: '0102', channel: 0, address: 1 }, { on: true, brightness: 502, kelvin: 3000 }),
    );
    const [ack] = await client.waitFor((message) => message.cmd === 'writeDevRes');
    expect(ack).toEqual({ cmd: 'writeDevRes', msgId, gwSn: gateway.serial, ack: true });
    const [status] = await client.waitFor((message) => message.cmd === 'devStatus');
    expect(status).toMatchObject({
      device: { address: 1 },
      report: { kind: 'light', state: { on: true, brightness: 502, kelvin: 3000 } },
    });
    await client.send(readDevices([{ devType: '0102', channel: 0, address: 1 }]));
    const [read] = await client.waitFor((message) => message.cmd === 'readDevRes');
    expect(read).toMatchObject({ report: { state: { on: true, brightness: 502, kelvin: 3000 } } });
  });

  it('writeDev to a device that is not there: ack false and no status', async () => {
    const client = await connect();
    await client.send(writeLight({ devType: '0101', channel: 0, address: 40 }, { on: true }));
    const [ack] = await client.waitFor((message) => message.cmd === 'writeDevRes');
    expect(ack).toMatchObject({ ack: false });
    expect(client.messages().some((message) => message.cmd === 'devStatus')).toBe(false);
  });

  it('writeDev to the FFFF broadcast device: every light takes it and reports', async () => {
    const client = await connect();
    await client.send(writeLight(BROADCAST_DEVICE, { on: true, brightness: 250 }));
    await client.waitFor((message) => message.cmd === 'writeDevRes' && message.ack === true);
    const statuses = await client.waitFor((message) => message.cmd === 'devStatus', 6);
    expect(statuses.map((message) => message.cmd === 'devStatus' && message.device.devType)).toEqual([
      '0101',
      '0102',
      '0103',
      '0104',
      '0105',
      '0106',
    ]);
    expect(
      statuses.every(
        (message) =>
          message.cmd === 'devStatus' &&
          message.report.kind === 'light' &&
          message.report.state.brightness === 250,
      ),
    ).toBe(true);
  });

  it('writeGroup and writeScene: ack, then a devStatus per member', async () => {
    const client = await connect();
    await client.send(writeGroup(0, 1, lightProperties({ on: true })[0]!));
    await client.waitFor((message) => message.cmd === 'writeGroupRes' && message.ack === true);
    const statuses = await client.waitFor((message) => message.cmd === 'devStatus', 4);
    expect(statuses.map((message) => message.cmd === 'devStatus' && message.device.address).sort()).toEqual([
      2, 3, 4, 5,
    ]);
    await client.send(writeScene(0, 0));
    await client.waitFor((message) => message.cmd === 'writeSceneRes' && message.ack === true);
    const after = await client.waitFor((message) => message.cmd === 'devStatus', 9);
    expect(after.at(-5)).toMatchObject({
      device: { address: 0 },
      report: { state: { on: true, brightness: 300 } },
    });
  });

  it('energy, sensors, parameters and identify', async () => {
    const client = await connect();
    gateway.push.energy(0, 5.5);
    await client.send(
      getEnergy({ devType: '0101', channel: 0, address: 0 }, { year: 2026, month: 12, day: 6 }),
    );
    await client.send(setSensorOnOff({ devType: '0202', channel: 0, address: 12 }, false));
    await client.send(getSensorOnOff({ devType: '0202', channel: 0, address: 12 }));
    await client.send(getSensorArguments({ devType: '0201', channel: 0, address: 10 }));
    await client.send(getDeviceParameters({ devType: '0102', channel: 0, address: 1 }));
    await client.send(identifyDevice({ devType: '0101', channel: 0, address: 0 }));
    expect((await client.waitFor((message) => message.cmd === 'reportEnergy'))[0]).toMatchObject({
      energy: 5.5,
    });
    expect((await client.waitFor((message) => message.cmd === 'getEnergyRes'))[0]).toMatchObject({
      entries: [{ device: { address: 0 }, history: { yearEnergy: { total: 5.5 } } }],
    });
    expect((await client.waitFor((message) => message.cmd === 'setSensorOnOffRes'))[0]).toMatchObject({
      ack: true,
    });
    expect((await client.waitFor((message) => message.cmd === 'getSensorOnOffRes'))[0]).toMatchObject({
      enabled: false,
    });
    expect((await client.waitFor((message) => message.cmd === 'getSensorArgvRes'))[0]).toMatchObject({
      arguments: { occpyTime: 30 },
    });
    expect((await client.waitFor((message) => message.cmd === 'getDevParamRes'))[0]).toMatchObject({
      parameters: { cctWarm: 2700, cctCool: 6500 },
    });
    expect((await client.waitFor((message) => message.cmd === 'identifyDevRes'))[0]).toMatchObject({
      ack: true,
    });
  });

  it('a bus scan streams status 2, batches (3), then 1', async () => {
    const client = await connect();
    await client.send(startBusScan([0]));
    await client.waitFor((message) => message.cmd === 'searchDevRes' && message.searchStatus === 1);
    const scan = client
      .messages()
      .filter(
        (message): message is Extract<InboundMessage, { cmd: 'searchDevRes' }> =>
          message.cmd === 'searchDevRes',
      );
    expect(scan.map((message) => message.searchStatus)).toEqual([2, 3, 3, 3, 3, 1]);
    expect(scan.every((message) => message.searchFlag === 'busDevice')).toBe(true);
    expect(scan.flatMap((message) => message.devices)).toHaveLength(gateway.line.devices.size);
  });

  it('pushes: panel keys, motion, illuminance (invalid one flagged), online', async () => {
    const client = await connect();
    gateway.push.panelKey(22, 3, 'double_press');
    gateway.push.panelKey(20, 1, 'rotate', 5);
    gateway.push.motion(10, 'motion');
    gateway.push.illuminance(12, 420);
    gateway.push.illuminance(12, 0);
    gateway.push.online(0, false);
    gateway.push.lightChanged(0, { on: true, brightness: 1 });
    await client.waitFor((message) => message.cmd === 'devStatus', 6);
    await client.waitFor((message) => message.cmd === 'onlineStatus');
    const reports = client
      .messages()
      .flatMap((message) => (message.cmd === 'devStatus' ? [message.report] : []));
    expect(reports).toEqual([
      { kind: 'panel', events: [{ key: 3, event: 'double_press', name: 'button_3_double_press' }] },
      { kind: 'panel', events: [{ key: 1, event: 'rotate', name: 'button_1_rotate', rotation: 5 }] },
      { kind: 'motion', state: 'motion' },
      { kind: 'illuminance', lux: 420 },
      { kind: 'illuminance' },
      { kind: 'light', state: { on: true, brightness: 1 } },
    ]);
    expect(
      client.results.flatMap((result) => (result.ok ? result.problems.map((found) => found.kind) : [])),
    ).toEqual(['out_of_range']);
    expect(client.messages().find((message) => message.cmd === 'onlineStatus')).toMatchObject({
      devices: [{ device: { address: 0 }, online: false }],
    });
  });
});
