import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { DaliCenterProblem, DiscoveredGateway } from '../src/drivers/dalicenter/codec/index.js';
import { discoverGateways, discoveryInterfaces } from '../src/drivers/dalicenter/discoveryClient.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';

// The discovery client against simulated gateways over loopback multicast: every gateway that answers is
// collected (the SDK keeps only the first), kept when it revealed its credentials or is already paired,
// a targeted rediscovery ends as soon as its gateway answers, and the run can be ended early.

const SERIALS = ['26250205591A', '362502056106', '22250205551A', '0225020273AC', '2625020558C6'];
const gateways: SimulatedDaliCenter[] = [];

afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.stop();
});

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** Gateways sharing one discovery port on the loopback multicast group; replies go to `replyPort`. */
async function startGateways(replyPort: number, pressed: number): Promise<number> {
  let port = 0;
  for (const [index, serial] of SERIALS.entries()) {
    const gateway = new SimulatedDaliCenter({
      serial,
      credentials: { username: `user${index}`, password: `pass${index}` },
      discovery: {
        bindAddress: '0.0.0.0',
        port,
        multicastInterface: '127.0.0.1',
        replyRoutes: ['unicast'],
        replyPort,
      },
    });
    await gateway.start();
    if (index < pressed) gateway.pressButton(60_000);
    port = gateway.discoveryPort!;
    gateways.push(gateway);
  }
  return port;
}

describe('DALI Center discovery client', () => {
  it('collects every gateway that answers; keeps those with credentials and the paired ones', async () => {
    const listenPort = await freeUdpPort();
    const requestPort = await startGateways(listenPort, 3);
    const seen: DiscoveredGateway[] = [];
    const found = await discoverGateways({
      interfaces: ['127.0.0.1'],
      requestPort,
      listenPorts: [listenPort],
      resendMs: 100,
      timeoutMs: 600,
      knownSerials: new Set(['0225020273AC']),
      onGateway: (gateway) => seen.push(gateway),
    });
    expect(found.map((gateway) => gateway.serial).sort()).toEqual([
      '0225020273AC',
      '22250205551A',
      '26250205591A',
      '362502056106',
    ]);
    expect(found.find((gateway) => gateway.serial === '26250205591A')?.credentials).toEqual({
      username: 'user0',
      password: 'pass0',
    });
    expect(found.find((gateway) => gateway.serial === '0225020273AC')?.credentials).toBeUndefined();
    // Each gateway is told once (their replies repeat every resend, unchanged).
    expect(new Set(seen.map((gateway) => gateway.serial)).size).toBe(5);
    expect(seen).toHaveLength(5);
  });

  it('a button pressed during the run upgrades a gateway to one with credentials', async () => {
    const listenPort = await freeUdpPort();
    const requestPort = await startGateways(listenPort, 0);
    setTimeout(() => gateways[1]!.pressButton(10_000), 250);
    const found = await discoverGateways({
      interfaces: ['127.0.0.1'],
      requestPort,
      listenPorts: [listenPort],
      resendMs: 100,
      timeoutMs: 700,
    });
    expect(found.map((gateway) => [gateway.serial, gateway.credentials])).toEqual([
      ['362502056106', { username: 'user1', password: 'pass1' }],
    ]);
  });

  it('a targeted rediscovery ends when its gateway answers, credentials or not, with its new address', async () => {
    const listenPort = await freeUdpPort();
    const requestPort = await startGateways(listenPort, 0);
    const newPort = await gateways[3]!.changeAddress({ port: 0 });
    const started = Date.now();
    const found = await discoverGateways({
      interfaces: ['127.0.0.1'],
      requestPort,
      listenPorts: [listenPort],
      targetSerial: '0225020273AC',
      timeoutMs: 5_000,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(found).toEqual([
      expect.objectContaining({ serial: '0225020273AC', address: '127.0.0.1', port: newPort }),
    ]);
  });

  it('two runs at once (pairing while a rediscovery runs) both hear every answer on the one reply port', async () => {
    const listenPort = await freeUdpPort();
    // Unicast replies to one port: two sockets bound to it would each get only some of them.
    const requestPort = await startGateways(listenPort, 2);
    const common = { interfaces: ['127.0.0.1'], requestPort, listenPorts: [listenPort], resendMs: 100 };
    // The rediscoveries listen first, the pairing last: on Linux a unicast datagram to a port bound by
    // several sockets goes to the last one only.
    let listening = 0;
    let allListening = () => undefined as void;
    const ready = new Promise<void>((resolve) => (allListening = resolve));
    const rediscoveries = SERIALS.map((serial) =>
      discoverGateways({
        ...common,
        targetSerial: serial,
        timeoutMs: 1_500,
        onListening: () => ++listening === SERIALS.length && allListening(),
      }),
    );
    await ready;
    const pairing = discoverGateways({ ...common, timeoutMs: 1_500 });
    const [paired, ...rediscovered] = await Promise.all([pairing, ...rediscoveries]);
    expect(paired.map((gateway) => gateway.serial).sort()).toEqual(['26250205591A', '362502056106']);
    expect(rediscovered.map((found) => found.map((gateway) => gateway.serial))).toEqual(
      SERIALS.map((serial) => [serial]),
    );
    // The shared listener is gone with the last run: the port is free again.
    const again = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(listenPort, '0.0.0.0', () => resolve());
    });
    again.close();
  });

  it('ends early on abort, reports garbage replies, and refuses to run without an interface', async () => {
    const listenPort = await freeUdpPort();
    const problems: DaliCenterProblem[] = [];
    const controller = new AbortController();
    const run = discoverGateways({
      interfaces: ['127.0.0.1'],
      requestAddress: '127.0.0.1',
      requestPort: await freeUdpPort(),
      listenPorts: [listenPort],
      timeoutMs: 60_000,
      signal: controller.signal,
      onProblem: (problem) => problems.push(problem),
      onListening: (port) => {
        const garbage = createSocket('udp4');
        garbage.send(Buffer.from('not json'), port, '127.0.0.1', () => garbage.close());
      },
    });
    setTimeout(() => controller.abort(), 300);
    expect(await run).toEqual([]);
    expect(problems.map((problem) => problem.kind)).toEqual(['not_json']);
    await expect(discoverGateways({ interfaces: [] })).rejects.toThrow(/no network interface/);
    expect(
      discoveryInterfaces().every(
        (address) => !address.startsWith('127.') && !address.startsWith('169.254.'),
      ),
    ).toBe(true);
  });
});
