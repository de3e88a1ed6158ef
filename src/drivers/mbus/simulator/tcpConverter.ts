import { createServer, type Server, type Socket } from 'node:net';

// The simulator's meters behind an M-Bus level converter on Ethernet: a TCP server that passes bytes
// between one client and the bus, as transparent converters (port 10001 and the like) do. A new client
// takes the bus over from the previous one. It can be switched off and on (a reboot: the connection
// is closed, connections are refused meanwhile) and can leave its client half-open (it forgets the
// connection without a word: nothing is answered, nothing is closed).

export class TcpConverter {
  readonly host: string;
  #port: number;
  #server: Server | undefined;
  #client: Socket | undefined;
  /** Connections the converter has forgotten: open, but nothing goes through. */
  readonly #forgotten = new Set<Socket>();

  constructor(options: { port: number; host?: string }) {
    this.#port = options.port;
    this.host = options.host ?? '127.0.0.1';
  }

  /** The listening port (the one picked by the system when 0 was asked, once started). */
  get port(): number {
    return this.#port;
  }

  get address(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `tcp://${host}:${this.#port}`;
  }

  /** Whether a client is connected and being served. */
  get connected(): boolean {
    return this.#client !== undefined;
  }

  async start(receive: (chunk: Buffer) => void, log: (line: string) => void): Promise<void> {
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      if (this.#client !== undefined) {
        log('a new client takes the bus over; the previous connection is closed');
        this.#client.destroy();
      }
      this.#client = socket;
      socket.on('data', (chunk: Buffer) => {
        if (this.#client === socket) receive(chunk);
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (this.#client === socket) this.#client = undefined;
        this.#forgotten.delete(socket);
      });
      log(`client ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} connected`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address !== null && typeof address === 'object') this.#port = address.port;
    this.#server = server;
  }

  send(bytes: Buffer): void {
    this.#client?.write(bytes);
  }

  /** Forgets the current client without closing its connection: from its side, a half-open one. */
  halfOpen(): boolean {
    const client = this.#client;
    if (client === undefined) return false;
    this.#client = undefined;
    this.#forgotten.add(client);
    return true;
  }

  /** Switched off: every connection closed, new ones refused until started again. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const socket of [...this.#forgotten, ...(this.#client ? [this.#client] : [])]) socket.destroy();
    this.#forgotten.clear();
    this.#client = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
