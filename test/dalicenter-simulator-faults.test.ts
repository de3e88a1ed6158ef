import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  buildDiscoveryRequest,
  getVersion,
  lightProperties,
  parseDiscoveryResponse,
  restartGateway,
  searchCachedDevices,
  writeGroup,
} from '../src/drivers/dalicenter/codec/index.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { eventually } from './helpers/eventually.js';
import { simulatedClock } from './helpers/time.js';
import { connackRefusal, GatewayClient, UdpListener } from './helpers/daliCenter.js';

// Each fault of the simulated DALI Center gateway, observed from a real mqtt.js client and real UDP:
// what the runtime will have to heal (issue 18: reboot, address change, silent broker, reset, duplicate
// client id, changed credentials, garbage messages).

let gateway: SimulatedDaliCenter;
let listener: UdpListener;
const clients: GatewayClient[] = [];

async function start(options: ConstructorParameters<typeof SimulatedDaliCenter>[0] = {}): Promise<void> {
  gateway = new SimulatedDaliCenter({
    discovery: { bindAddress: '127.0.0.1', port: 0, replyRoutes: ['unicast'], replyPort: listener.port },
    restartDownMs: 300,
    ...options,
  });
  await gateway.start();
}

beforeEach(async () => {
  listener = await UdpListener.open();
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  await gateway.stop();
  await listener.close();
});

async function connect(options: Parameters<typeof GatewayClient.connect>[1] = {}): Promise<GatewayClient> {
  const client = await GatewayClient.connect(gateway, options);
  clients.push(client);
  return client;
}

async function versionAnswered(client: GatewayClient): Promise<void> {
  const msgId = await client.send(getVersion());
  await client.waitFor((message) => message.cmd === 'getVersionRes' && message.msgId === msgId);
}

const closedWithin = (client: GatewayClient, timeoutMs = 3_000) =>
  eventually(() => client.closed, { what: 'the connection to close', timeoutMs });

describe('DALI Center simulator faults', () => {
  it('reboot: connections drop, the broker and discovery are gone, both back after the delay', async () => {
    await start();
    const client = await connect();
    await gateway.reboot(400);
    await closedWithin(client);
    expect(gateway.isDown).toBe(true);
    expect(await connackRefusal(gateway, { username: 'admin', password: 'password123' })).toBe(
      'ECONNREFUSED',
    );
    await listener.send(buildDiscoveryRequest(), gateway.discoveryPort!);
    await eventually(() => gateway.discoveryLog.length === 1, { what: 'the request to be seen' });
    expect(gateway.discoveryLog[0]).toMatchObject({ kind: 'ignored', reason: 'the gateway is down' });
    await gateway.whenUp();
    await versionAnswered(await connect());
  });

  it('reboot and button windows run on an injected clock (a minute down, no minute waited)', async () => {
    const clock = simulatedClock();
    await start({ clock });
    gateway.pressButton(90_000);
    await gateway.reboot(60_000);
    clock.increment(59_999);
    expect(gateway.isDown).toBe(true);
    clock.increment(1);
    await gateway.whenUp();
    expect(gateway.buttonPressed).toBe(true);
    clock.increment(30_000);
    expect(gateway.buttonPressed).toBe(false);
    await versionAnswered(await connect());
  });

  it('restartGateway: ack, then the connection drops and the gateway returns', async () => {
    await start();
    const client = await connect();
    await client.send(restartGateway());
    await client.waitFor((message) => message.cmd === 'restartGatewayRes' && message.ack === true);
    await closedWithin(client);
    await gateway.whenUp();
    await versionAnswered(await connect());
  });

  it('address change: the old port refuses, discovery announces the new address and port', async () => {
    await start();
    const client = await connect();
    const oldUrl = gateway.mqttUrl;
    const newPort = await gateway.changeAddress({ host: '127.0.0.2', port: 0 });
    await closedWithin(client);
    expect(gateway.mqttUrl).toBe(`mqtt://127.0.0.2:${newPort}`);
    expect(oldUrl).not.toBe(gateway.mqttUrl);
    await listener.send(buildDiscoveryRequest({ targetSerial: gateway.serial }), gateway.discoveryPort!);
    await listener.waitForCount(1);
    const announced = parseDiscoveryResponse(listener.received[0]!);
    expect(announced.ok && announced.value).toMatchObject({ address: '127.0.0.2', port: newPort });
    await versionAnswered(await connect());
  });

  it('silent broker: requests go unanswered and a 1 s keepalive runs out; it talks again when released', async () => {
    await start();
    const client = await connect({ keepalive: 1 });
    gateway.silence();
    await client.send(getVersion());
    await closedWithin(client, 4_000);
    // The client found out by its own keepalive: the gateway never closed the connection.
    await eventually(() => client.errors.some((error) => error.message === 'Keepalive timeout'), {
      what: 'the keepalive timeout',
    });
    expect(client.messages()).toEqual([]);
    // A new connection gets no CONNACK while silent.
    expect(
      await connackRefusal(gateway, { username: 'admin', password: 'password123', connectTimeout: 500 }),
    ).toMatch(/connack timeout/i);
    gateway.silence(false);
    await versionAnswered(await connect());
  });

  it('connection reset: every client sees ECONNRESET mid-stream', async () => {
    await start();
    const first = await connect();
    const second = await connect();
    expect(gateway.resetConnections()).toBe(2);
    await closedWithin(first);
    await closedWithin(second);
    expect(
      [...first.errors, ...second.errors].some(
        (error) => (error as NodeJS.ErrnoException).code === 'ECONNRESET',
      ),
    ).toBe(true);
  });

  it('reset mid-stream: the device list is cut after two of its messages', async () => {
    await start({ searchChunkSize: 2 });
    const client = await connect();
    gateway.resetAfterReports(2);
    await client.send(searchCachedDevices());
    await closedWithin(client);
    expect(
      client.messages().map((message) => message.cmd === 'searchDevRes' && message.searchStatus),
    ).toEqual([3, 3]);
    expect(client.errors.some((error) => (error as NodeJS.ErrnoException).code === 'ECONNRESET')).toBe(true);
  });

  it('duplicate client id: the older connection is kicked; kickClient drops one by id', async () => {
    await start();
    const clientId = `ha_dali_center_${'6A242121110E'}_1`;
    const older = await connect({ clientId });
    const newer = await connect({ clientId });
    await closedWithin(older);
    await versionAnswered(newer);
    expect(gateway.clientIds()).toEqual([clientId]);
    expect(gateway.kickClient(clientId)).toBe(true);
    await closedWithin(newer);
    expect(gateway.kickClient('nobody')).toBe(false);
  });

  it('changed credentials: logged-in clients are dropped, the old login refused with 4, the button reveals the new one', async () => {
    await start();
    const client = await connect();
    gateway.changeCredentials({ username: 'installer', password: 's3cret' });
    await closedWithin(client);
    expect(await connackRefusal(gateway, { username: 'admin', password: 'password123' })).toBe(4);
    gateway.pressButton(1_000);
    await listener.send(buildDiscoveryRequest(), gateway.discoveryPort!);
    await listener.waitForCount(1);
    const announced = parseDiscoveryResponse(listener.received[0]!);
    expect(announced.ok && announced.value.credentials).toEqual({
      username: 'installer',
      password: 's3cret',
    });
    await versionAnswered(await connect({ username: 'installer', password: 's3cret' }));
  });

  it('invalid UTF-8 and unknown messages arrive and are refused by kind', async () => {
    await start();
    const client = await connect();
    await gateway.injectInvalidUtf8();
    await gateway.injectUnknownMessage();
    await gateway.injectRaw(
      '{"cmd": "devStatus", "data": {"devType": "0101", "channel": 0, "address": 99, "property": []}}',
    );
    await eventually(() => client.results.length === 3, { what: 'three messages' });
    expect(client.results.map((result) => (result.ok ? 'ok' : result.problem.kind))).toEqual([
      'invalid_utf8',
      'unknown_cmd',
      'out_of_range',
    ]);
  });

  it('the firmware quirk: after a group on, members report dpid 20 false (notes §10.3)', async () => {
    await start({ groupOnReportsPowerFalse: true });
    const client = await connect();
    await client.send(writeGroup(0, 0, lightProperties({ on: true })[0]!));
    const statuses = await client.waitFor((message) => message.cmd === 'devStatus', 2);
    expect(statuses.map((message) => message.cmd === 'devStatus' && message.report)).toEqual([
      { kind: 'light', state: { on: false, brightness: 1000 } },
      { kind: 'light', state: { on: false, brightness: 1000, kelvin: 4000 } },
    ]);
    expect(gateway.line.at(0, 0)?.light?.on).toBe(true);
  });
});
