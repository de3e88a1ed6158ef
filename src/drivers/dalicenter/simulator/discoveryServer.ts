import { createSocket, type Socket } from 'node:dgram';
import {
  buildDiscoveryResponse,
  buildIdentifyGatewayReply,
  DISCOVER_WORD,
  DISCOVERY_MULTICAST_ADDRESS,
  type DiscoveryAnnouncement,
  IDENTIFY_GATEWAY_WORD,
  parseDiscoveryRequest,
} from '../codec/index.js';

// The gateway's side of the UDP discovery: it decrypts each request (two layers, notes §2.2), answers a
// "discover" meant for it (snList/gwSn empty or naming it) with its announcement, credentials included
// only while its button is pressed, and an identifyDev with the single-layer identify reply. How a real
// gateway addresses its reply is unknown (notes §2.1): multicast to the group on 50569, unicast to the
// requester's 50569, or back to the request's source port; the simulator sends the ways it is told.

export type ReplyRoute = 'unicast' | 'multicast' | 'source';

export interface DiscoveryServerOptions {
  /** The address to bind (0.0.0.0: every interface; 127.0.0.1 in tests). */
  bindAddress: string;
  /** 1900 for a real network; 0 picks a free port (tests). */
  port: number;
  /** Join 239.255.255.250 on this interface address (undefined: do not join; loopback tests send unicast). */
  multicastInterface?: string;
  replyRoutes: ReplyRoute[];
  /** The port unicast and multicast replies go to (50569, where the SDK listens). */
  replyPort: number;
  /** The announcement now; undefined: the gateway is down and answers nothing. */
  announcement(): DiscoveryAnnouncement | undefined;
  onRequest?(what: DiscoveryEvent): void;
}

export type DiscoveryEvent =
  | { kind: 'answered'; word: string; withCredentials: boolean; from: string }
  | { kind: 'ignored'; reason: string; from: string };

export class SimulatedDiscoveryServer {
  private socket: Socket | undefined;
  private boundPort: number | undefined;

  constructor(private readonly options: DiscoveryServerOptions) {}

  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<number> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    socket.on('error', () => undefined);
    socket.on('message', (message, remote) => this.answer(message, remote.address, remote.port));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.options.port, this.options.bindAddress, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    if (this.options.multicastInterface !== undefined) {
      try {
        socket.addMembership(DISCOVERY_MULTICAST_ADDRESS, this.options.multicastInterface);
        socket.setMulticastInterface(this.options.multicastInterface);
      } catch {
        // No multicast on this host (a container without a route): unicast requests still work.
      }
    }
    this.boundPort = socket.address().port;
    this.socket = socket;
    return this.boundPort;
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private answer(datagram: Buffer, from: string, fromPort: number): void {
    const note = (event: DiscoveryEvent) => this.options.onRequest?.(event);
    const request = parseDiscoveryRequest(datagram);
    if (!request.ok) return note({ kind: 'ignored', reason: request.problem.detail, from });
    const announcement = this.options.announcement();
    if (announcement === undefined) return note({ kind: 'ignored', reason: 'the gateway is down', from });
    if (request.value.targets.length > 0 && !request.value.targets.includes(announcement.serial))
      return note({ kind: 'ignored', reason: `meant for ${request.value.targets.join(', ')}`, from });
    let reply: Buffer;
    if (request.value.word === DISCOVER_WORD) reply = buildDiscoveryResponse(announcement);
    else if (request.value.word === IDENTIFY_GATEWAY_WORD)
      reply = buildIdentifyGatewayReply(announcement.serial, true);
    else return note({ kind: 'ignored', reason: `unknown word "${request.value.word}"`, from });
    for (const route of this.options.replyRoutes) {
      const [address, port] =
        route === 'source'
          ? [from, fromPort]
          : route === 'unicast'
            ? [from, this.options.replyPort]
            : [DISCOVERY_MULTICAST_ADDRESS, this.options.replyPort];
      this.socket?.send(reply, port, address);
    }
    note({
      kind: 'answered',
      word: request.value.word,
      withCredentials: announcement.credentials !== undefined,
      from,
    });
  }
}

export const DEFAULT_REPLY_ROUTES: readonly ReplyRoute[] = ['unicast', 'multicast'];
