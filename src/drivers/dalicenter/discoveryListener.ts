import { createSocket, type Socket } from 'node:dgram';
import { DISCOVERY_MULTICAST_ADDRESS } from './codec/index.js';

// Where discovery replies arrive: one socket per list of reply ports for the whole process, shared by
// every discovery running at once (a pairing while a rediscovery after an IP change runs, several
// gateways rediscovered together). Two sockets on one port (SO_REUSEADDR) would both get the multicast
// replies, but a unicast reply only reaches the one bound last (Linux), and how a gateway addresses its
// reply is not known (notes §2.1): the other run would miss it. Each run hears every reply and keeps
// what it asked for. The socket closes when the last run using it ends.

/** A datagram that came to the reply port, and the address it came from. */
export type ReplyHandler = (datagram: Buffer, from: string) => void;

export interface ReplyListener {
  /** The port replies are expected on. */
  readonly port: number;
  /** Stops hearing replies; the last run to release closes the socket. */
  release(): void;
}

class SharedSocket {
  readonly #handlers = new Set<ReplyHandler>();
  readonly #joined = new Set<string>();

  constructor(readonly socket: Socket) {
    socket.on('error', () => undefined);
    socket.on('message', (datagram, remote) => {
      for (const handler of [...this.#handlers]) handler(datagram, remote.address);
    });
  }

  add(handler: ReplyHandler, interfaces: readonly string[]): void {
    for (const address of interfaces) {
      if (this.#joined.has(address)) continue;
      this.#joined.add(address);
      try {
        this.socket.addMembership(DISCOVERY_MULTICAST_ADDRESS, address);
      } catch {
        // An interface without multicast: unicast replies still arrive.
      }
    }
    this.#handlers.add(handler);
  }

  remove(handler: ReplyHandler): void {
    this.#handlers.delete(handler);
  }
}

/** The shared sockets by their port list; `users` counts runs from the moment they ask (before the bind). */
const shared = new Map<string, { socket: Promise<SharedSocket>; users: number }>();

async function bindFirst(ports: readonly number[]): Promise<Socket> {
  let lastError: unknown;
  for (const port of ports) {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, '0.0.0.0', () => {
          socket.off('error', reject);
          resolve();
        });
      });
      return socket;
    } catch (error) {
      lastError = error;
      socket.close();
    }
  }
  throw new Error(`no UDP port to listen on for discovery replies (tried ${ports.join(', ')})`, {
    cause: lastError,
  });
}

/**
 * Hears discovery replies on the first of `ports` that can be bound (0: any), joined to the discovery
 * group on `interfaces`; shared with every other run asking for the same ports.
 */
export async function listenForReplies(
  ports: readonly number[],
  interfaces: readonly string[],
  onReply: ReplyHandler,
): Promise<ReplyListener> {
  const key = ports.join(',');
  let entry = shared.get(key);
  if (!entry) {
    const created = { socket: bindFirst(ports).then((socket) => new SharedSocket(socket)), users: 0 };
    shared.set(key, created);
    entry = created;
  }
  entry.users += 1;
  const user = entry;
  let socket: SharedSocket;
  try {
    socket = await user.socket;
  } catch (error) {
    if (shared.get(key) === user) shared.delete(key);
    throw error;
  }
  socket.add(onReply, interfaces);
  let released = false;
  return {
    port: socket.socket.address().port,
    release: () => {
      if (released) return;
      released = true;
      socket.remove(onReply);
      user.users -= 1;
      if (user.users > 0) return;
      if (shared.get(key) === user) shared.delete(key);
      socket.socket.close();
    },
  };
}
