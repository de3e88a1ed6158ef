import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { GatewayClock } from '../../machines/clock.js';
import {
  buildDiscoveryRequest,
  type DaliCenterProblem,
  type DiscoveredGateway,
  DISCOVERY_MULTICAST_ADDRESS,
  DISCOVERY_REPLY_FALLBACK_PORTS,
  DISCOVERY_REPLY_PORT,
  DISCOVERY_REQUEST_PORT,
  DISCOVERY_RESEND_MS,
  DISCOVERY_TIMEOUT_MS,
  type DiscoveryTargetStyle,
  parseDiscoveryResponse,
} from './codec/index.js';
import { listenForReplies } from './discoveryListener.js';

// The client side of the UDP discovery (notes §2.1, §11.1): one listener on 50569 (then 50570-50578,
// then any port) joined to 239.255.255.250 on every interface, shared by the runs going on at once
// (discoveryListener.ts), the encrypted request multicast from each interface every 2 s, and every
// gateway that answers collected, not just the first (the SDK stops at the first). A gateway's reply with credentials (its button was pressed) replaces one without. What is
// kept: gateways with credentials, and gateways already paired (known serials), whose new address is
// what a rediscovery is for.

const wallClock: Pick<GatewayClock, 'setTimeout' | 'clearTimeout'> = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

export interface DiscoveryRunOptions {
  /** IPv4 addresses to send from and listen on; default: every interface but loopback and link-local. */
  interfaces?: string[];
  /** Where requests go: the multicast group (default), or a unicast address (tests, a known gateway). */
  requestAddress?: string;
  requestPort?: number;
  /** Listener ports tried in order (0: any); default 50569, 50570-50578, 0. */
  listenPorts?: number[];
  resendMs?: number;
  /** How long to listen in all (default 180 s, the SDK's). */
  timeoutMs?: number;
  /** Ask only this gateway (rediscovery after an IP change); the run ends when it answers. */
  targetSerial?: string;
  targetStyle?: DiscoveryTargetStyle;
  /** Serials already paired: kept even without credentials (their address is what is wanted). */
  knownSerials?: ReadonlySet<string>;
  /** Ends the run early (a pairing window closed by the user). */
  signal?: AbortSignal;
  clock?: Pick<GatewayClock, 'setTimeout' | 'clearTimeout'>;
  /** Each gateway as it first answers, and again when it answers with credentials. */
  onGateway?(gateway: DiscoveredGateway): void;
  /** A datagram that was not a gateway's reply (log once per kind). */
  onProblem?(problem: DaliCenterProblem, from: string): void;
  /** The listener's port once bound (where replies are expected). */
  onListening?(port: number): void;
}

/** Every IPv4 address of this host that a gateway could be reached from: not loopback, not link-local. */
export function discoveryInterfaces(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => entry.family === 'IPv4' && !entry.internal && !entry.address.startsWith('169.254.'))
    .map((entry) => entry.address);
}

async function senderFor(address: string): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.bind(0, address, () => resolve()));
  socket.setBroadcast(true);
  socket.setMulticastInterface(address);
  return socket;
}

/** Runs one discovery; resolves with the gateways kept (see above) when the time is up or the run is ended. */
export async function discoverGateways(options: DiscoveryRunOptions = {}): Promise<DiscoveredGateway[]> {
  const clock = options.clock ?? wallClock;
  const interfaces = options.interfaces ?? discoveryInterfaces();
  if (interfaces.length === 0)
    throw new Error('no network interface with an IPv4 address to discover gateways on');
  const found = new Map<string, DiscoveredGateway>();
  let finish = () => undefined as void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const listener = await listenForReplies(
    options.listenPorts ?? [DISCOVERY_REPLY_PORT, ...DISCOVERY_REPLY_FALLBACK_PORTS, 0],
    interfaces,
    (datagram, from) => {
      const reply = parseDiscoveryResponse(datagram, from);
      if (!reply.ok) return options.onProblem?.(reply.problem, from);
      const gateway = reply.value;
      if (options.targetSerial !== undefined && gateway.serial !== options.targetSerial) return;
      const before = found.get(gateway.serial);
      if (before?.credentials !== undefined && gateway.credentials === undefined) return;
      const changed = before === undefined || JSON.stringify(before) !== JSON.stringify(gateway);
      found.set(gateway.serial, gateway);
      if (changed) options.onGateway?.(gateway);
      if (options.targetSerial !== undefined) finish();
    },
  );
  const senders: Socket[] = [];
  const timers: unknown[] = [];
  try {
    options.onListening?.(listener.port);
    for (const address of interfaces) senders.push(await senderFor(address));
    const request = buildDiscoveryRequest({
      ...(options.targetSerial !== undefined ? { targetSerial: options.targetSerial } : {}),
      ...(options.targetStyle !== undefined ? { targetStyle: options.targetStyle } : {}),
    });
    const send = () => {
      for (const sender of senders)
        sender.send(
          request,
          options.requestPort ?? DISCOVERY_REQUEST_PORT,
          options.requestAddress ?? DISCOVERY_MULTICAST_ADDRESS,
        );
      timers.push(clock.setTimeout(send, options.resendMs ?? DISCOVERY_RESEND_MS));
    };
    send();
    timers.push(clock.setTimeout(finish, options.timeoutMs ?? DISCOVERY_TIMEOUT_MS));
    if (options.signal?.aborted) finish();
    options.signal?.addEventListener('abort', finish, { once: true });
    await finished;
    options.signal?.removeEventListener('abort', finish);
  } finally {
    for (const timer of timers) clock.clearTimeout(timer);
    listener.release();
    for (const socket of senders) socket.close();
  }
  const known = options.knownSerials ?? new Set<string>();
  return [...found.values()].filter(
    (gateway) =>
      gateway.credentials !== undefined ||
      known.has(gateway.serial) ||
      gateway.serial === options.targetSerial,
  );
}
