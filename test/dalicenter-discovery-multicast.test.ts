import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildDiscoveryRequest,
  DISCOVERY_MULTICAST_ADDRESS,
  parseDiscoveryResponse,
} from '../src/drivers/dalicenter/codec/index.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { eventually } from './helpers/eventually.js';

// Discovery as on a real network, but over loopback: several simulated gateways share one UDP port and
// the multicast group 239.255.255.250 (as real gateways share 1900), a client multicasts one request and
// every gateway answers, by unicast to the client's listening port or by multicast to the group. The
// SDK stops at the first answer; collecting them all is the runtime's job and needs all of them to come.

const SERIALS = ['26250205591A', '362502056106', '22250205551A', '0225020273AC', '2625020558C6'];
const gateways: SimulatedDaliCenter[] = [];
const sockets: ReturnType<typeof createSocket>[] = [];

afterEach(async () => {
  for (const gateway of gateways.splice(0)) await gateway.stop();
  for (const socket of sockets.splice(0)) socket.close();
});

async function udp(
  port: number,
  address: string,
  group?: string,
): Promise<{ socket: ReturnType<typeof createSocket>; received: Buffer[] }> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  const received: Buffer[] = [];
  socket.on('message', (message) => received.push(message));
  await new Promise<void>((resolve) => socket.bind(port, address, () => resolve()));
  if (group) socket.addMembership(group, '127.0.0.1');
  socket.setMulticastInterface('127.0.0.1');
  sockets.push(socket);
  return { socket, received };
}

/** Five gateways on one discovery port, joined to the group on loopback; the first picks the port. */
async function fiveGateways(replyPort: number, route: 'unicast' | 'multicast'): Promise<number> {
  let port = 0;
  for (const serial of SERIALS) {
    const gateway = new SimulatedDaliCenter({
      serial,
      discovery: {
        bindAddress: '0.0.0.0',
        port,
        multicastInterface: '127.0.0.1',
        replyRoutes: [route],
        replyPort,
      },
    });
    await gateway.start();
    port = gateway.discoveryPort!;
    gateways.push(gateway);
  }
  return port;
}

describe('DALI Center discovery by multicast', () => {
  it('five gateways on one port answer one multicast request, each by unicast', async () => {
    const client = await udp(0, '127.0.0.1');
    const port = await fiveGateways(client.socket.address().port, 'unicast');
    client.socket.send(buildDiscoveryRequest(), port, DISCOVERY_MULTICAST_ADDRESS);
    await eventually(() => client.received.length === 5, { what: 'five answers', timeoutMs: 3_000 });
    const serials = client.received.map((datagram) => {
      const result = parseDiscoveryResponse(datagram);
      return result.ok ? result.value.serial : result.problem.kind;
    });
    expect(serials.sort()).toEqual([...SERIALS].sort());
    // Each announces its own broker.
    expect(new Set(client.received.map((datagram) => JSON.parse(datagram.toString()).data.port)).size).toBe(
      5,
    );
  });

  it('answers by multicast to the group on the reply port, and a targeted request gets one answer', async () => {
    const listener = await udp(0, '0.0.0.0', DISCOVERY_MULTICAST_ADDRESS);
    const port = await fiveGateways(listener.socket.address().port, 'multicast');
    listener.socket.send(
      buildDiscoveryRequest({ targetSerial: '0225020273AC' }),
      port,
      DISCOVERY_MULTICAST_ADDRESS,
    );
    await eventually(() => listener.received.length >= 1, { what: 'an answer', timeoutMs: 3_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(listener.received.map((datagram) => JSON.parse(datagram.toString()).data.gwSn)).toEqual([
      '0225020273AC',
    ]);
  });
});
