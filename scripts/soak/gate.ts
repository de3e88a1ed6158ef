import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';

// The gateway reaches mosquitto through this TCP relay; the soak's recorder connects to mosquitto
// directly. Why: mosquitto here keeps no persistence, so a broker SIGKILL loses whatever it had
// acknowledged to the gateway but not yet written to the recorder, and after a restart the gateway may
// publish before the recorder has subscribed again. Both losses would be the broker's and the test's,
// not the gateway's. So a "broker kill" first closes this gate (the gateway's connection drops at once,
// with whatever was in flight, exactly as when the broker dies), gives mosquitto a moment to hand what
// it already took to the recorder, then SIGKILLs it; after the restart the gate opens only once the
// recorder is subscribed again. While closed, the port refuses connections, as a dead broker's does.

export class BrokerGate {
  readonly port: number;
  readonly #upstreamPort: number;
  readonly #pairs = new Set<[Socket, Socket]>();
  #server: Server | undefined;

  constructor(port: number, upstreamPort: number) {
    this.port = port;
    this.#upstreamPort = upstreamPort;
  }

  get isOpen(): boolean {
    return this.#server !== undefined;
  }

  /** Connections relayed right now (one per gateway process, normally). */
  get connections(): number {
    return this.#pairs.size;
  }

  async open(): Promise<void> {
    if (this.#server) return;
    const server = createServer((client) => this.#relay(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
  }

  /** Stops listening and cuts every relayed connection (no FIN handshake: a reset, as a crash gives). */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    for (const [client, upstream] of this.#pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.#pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #relay(client: Socket): void {
    const upstream = netConnect(this.#upstreamPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = () => {
      if (!this.#pairs.delete(pair)) return;
      // One side gone: the other must see it too (a gateway SIGKILL must reach mosquitto as a
      // dropped connection, so it publishes the Last Will).
      client.destroy();
      upstream.destroy();
    };
    for (const socket of pair) {
      socket.setNoDelay(true);
      socket.on('error', end);
      socket.on('close', end);
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
