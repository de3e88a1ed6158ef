import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Duplex } from 'node:stream';
import type { Aedes, AuthenticateError, Client, PublishPacket } from 'aedes';

// The gateway's own MQTT broker (Aedes, in process) with the faults a real one shows: it logs clients in
// with the gateway's user name and password (CONNACK 4 or 5 otherwise), kicks the older of two clients
// with the same id (Aedes does, as MQTT requires), can go silent (accepts TCP, reads and answers
// nothing, so a client's keepalive runs out), can reset every connection with a TCP RST, and can stop
// and listen again (a reboot, an address change). Each TCP connection reaches Aedes through a gate
// that the silence fault closes.

export interface BrokerCredentials {
  username: string;
  password: string;
}

export interface MqttServerOptions {
  host: string;
  port: number;
  credentials: BrokerCredentials;
  /** CONNACK code for a refused login: 4 (bad user name or password) or 5 (not authorised). */
  refusalCode: 4 | 5;
  /**
   * PEM certificate and key: the broker speaks TLS only (as a gateway announcing isMqttTls). A real
   * gateway's certificate is signed by the Sunricher CA, whose key nobody has; tests use their own CA.
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Every publish by a client (the gateway reads its command topic from here). */
  onPublish(topic: string, payload: Buffer, clientId: string): void;
}

/**
 * Between one socket and Aedes: passes bytes both ways unless silenced. While silenced, Aedes giving up
 * on the client (its own keepalive check) leaves the socket open and mute, as a hung gateway's would
 * be: the client must find out by its keepalive, not by a close.
 */
class Gate extends Duplex {
  private detached = false;

  constructor(
    readonly socket: Socket,
    private readonly silent: () => boolean,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => {
      if (!this.silent() && !this.detached) this.push(chunk);
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', () => this.destroy());
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.silent() || this.detached || this.socket.destroyed) return done();
    this.socket.write(chunk, () => done());
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.silent()) this.detached = true;
    else this.socket.end();
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.silent() && !this.socket.destroyed) this.detached = true;
    else if (!this.socket.destroyed) this.socket.destroy();
    done(error);
  }
}

function refusal(code: 4 | 5): AuthenticateError {
  return Object.assign(new Error(code === 4 ? 'bad user name or password' : 'not authorized'), {
    returnCode: code as AuthenticateError['returnCode'],
  });
}

export class SimulatedMqttServer {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Map<string, Client>();
  private silent = false;
  private boundPort: number | undefined;
  /** Logins refused since it was made (a client retrying a stale login without pause shows here). */
  refusedLogins = 0;

  constructor(private options: MqttServerOptions) {}

  get port(): number | undefined {
    return this.boundPort;
  }

  get host(): string {
    return this.options.host;
  }

  get tls(): boolean {
    return this.options.tls !== undefined;
  }

  get listening(): boolean {
    return this.server?.listening === true;
  }

  /** Client ids of the connected (logged in) clients. */
  clientIds(): string[] {
    return [...this.clients.keys()];
  }

  setCredentials(credentials: BrokerCredentials): void {
    this.options = { ...this.options, credentials };
  }

  setSilent(silent: boolean): void {
    this.silent = silent;
  }

  get isSilent(): boolean {
    return this.silent;
  }

  /** Starts a fresh broker (no sessions kept, as after a reboot) on `host`/`port` (0: any free port). */
  async start(where: { host?: string; port?: number } = {}): Promise<number> {
    if (this.server) throw new Error('the simulated broker is already running');
    if (where.host !== undefined) this.options = { ...this.options, host: where.host };
    const { Aedes } = await import('aedes');
    const broker = await Aedes.createBroker({
      authenticate: (_client, username, password, done) => {
        const { credentials } = this.options;
        if (username === credentials.username && password?.toString('utf8') === credentials.password)
          return done(null, true);
        this.refusedLogins += 1;
        done(refusal(this.options.refusalCode), false);
      },
    });
    broker.on('client', (client) => this.clients.set(client.id, client));
    broker.on('clientDisconnect', (client) => {
      if (this.clients.get(client.id) === client) this.clients.delete(client.id);
    });
    broker.on('publish', (packet: PublishPacket, client: Client | null) => {
      if (client) this.options.onPublish(packet.topic, Buffer.from(packet.payload), client.id);
    });
    // A client that misbehaves (or a connection the faults cut) is not the simulator's problem.
    broker.on('clientError', () => undefined);
    broker.on('connectionError', () => undefined);
    const accept = (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      broker.handle(new Gate(socket, () => this.silent));
    };
    const tls = this.options.tls;
    const server = tls === undefined ? createServer(accept) : createTlsServer(tls, accept);
    server.on('tlsClientError', () => undefined);
    const port = where.port ?? this.boundPort ?? this.options.port;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : port;
    this.broker = broker;
    this.server = server;
    return this.boundPort;
  }

  /** Stops listening and drops every connection (a power cut: no DISCONNECT, sockets simply end). */
  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    this.clients.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
  }

  /** Resets every TCP connection (RST), as a gateway's network stack does mid-stream. */
  resetConnections(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.resetAndDestroy();
    return count;
  }

  /** Closes one client's connection, as the broker does to the older of two clients with one id. */
  kick(clientId: string): boolean {
    const client = this.clients.get(clientId);
    if (!client) return false;
    client.close();
    return true;
  }

  /** Publishes as the gateway (QoS 0, not retained); false while stopped. */
  publish(topic: string, payload: Buffer | string): Promise<boolean> {
    const broker = this.broker;
    if (!broker) return Promise.resolve(false);
    const packet: PublishPacket = {
      cmd: 'publish',
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos: 0,
      retain: false,
      dup: false,
    };
    return new Promise((resolve) =>
      broker.publish(packet, (error?: Error) => resolve(error === undefined || error === null)),
    );
  }
}
