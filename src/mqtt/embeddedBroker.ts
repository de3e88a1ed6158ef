import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import { isLoopback } from '../http/access.js';
import { getLogger, type Logger, RepeatedFailureLog } from '../logging/index.js';
import {
  authenticate,
  type BrokerAccessRules,
  type BrokerRole,
  clientIdRefusal,
  publishRefusal,
} from './brokerAccess.js';
import { readTlsFile } from './settings.js';

// Without `mqtt.server` fieldbridge brings its own broker (Aedes, in memory, on loopback only), so a
// first run works with nothing else installed. Its retained messages and sessions last as long as
// the process. With `mqtt.user` it logs clients in and keeps the gateway's topics to the gateway
// (brokerAccess.ts); with `mqtt.embedded_tls` it adds a TLS listener on `embedded_host`, and the plain
// listener (the gateway's own link) moves to loopback.

/** `mqtt.embedded_tls`: PEM files, read at start. */
export interface EmbeddedTlsOptions {
  cert: string;
  key: string;
  port: number;
}

export interface EmbeddedBrokerOptions {
  /** The address it listens on (default 127.0.0.1); 0.0.0.0 or :: listens on every interface. */
  host?: string;
  /** 1883 by default; 0 picks a free port (tests). */
  port?: number;
  logger?: Logger;
  /** Logins and topic rules; absent: anyone may connect and publish anything. */
  access?: BrokerAccessRules;
  tls?: EmbeddedTlsOptions;
}

export interface EmbeddedBroker {
  /** Where the gateway's own link connects (the plain listener). */
  url: string;
  /** The TLS listener, `mqtts://host:port`, when there is one. */
  tlsUrl?: string;
  /**
   * New logins and topic rules (a reload): when they differ, every client is disconnected so it logs
   * in again under them, the gateway's link included. Listeners and TLS stay as they are.
   */
  setAccess(access: BrokerAccessRules | undefined): void;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') return reject(error);
      reject(
        new Error(
          `port ${port} on ${host} is already in use: another MQTT broker is probably running there; ` +
            `set mqtt.server in the config (e.g. mqtt://${host}:${port}) to use it instead of the embedded broker`,
          { cause: error },
        ),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

const EVERY_INTERFACE = new Set(['0.0.0.0', '::']);

/** How the gateway's own link reaches the broker: over loopback when it listens on every interface. */
function linkHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** CONNACK "not authorized" (MQTT 3.1.1 return code 5), as Mosquitto answers a refused login. */
function notAuthorized(): AuthenticateError {
  return Object.assign(new Error('not authorized'), { returnCode: 5 as AuthenticateError['returnCode'] });
}

/** CONNACK "identifier rejected" (return code 2). */
function identifierRejected(): AuthenticateError {
  return Object.assign(new Error('identifier rejected'), {
    returnCode: 2 as AuthenticateError['returnCode'],
  });
}

/** No logins: everyone is let in and may publish anything (but $SYS, as Aedes does by default). */
const OPEN: BrokerAccessRules = { others: [], baseTopic: '', discoveryPrefix: '' };

/** Who may log in, and the gateway's session: what a client's login was checked against. */
const logins = (rules: BrokerAccessRules) => ({
  gateway: rules.gateway,
  others: rules.others,
  gatewayClientId: rules.gatewayClientId,
});

/** The Aedes hooks that log clients in and refuse foreign publishes to the gateway's topics. */
function accessHooks(current: () => BrokerAccessRules, log: Logger): Partial<AedesOptions> {
  const roles = new WeakMap<Client, BrokerRole>();
  // A client guessing passwords must not flood the log: one line, then a summary now and then.
  const refusals = new RepeatedFailureLog(log, { summary: 'still refusing' });
  return {
    authenticate: (client, user, password, done) => {
      const role = authenticate(current(), user, password?.toString('utf8'));
      if (role === null) {
        refusals.failure(
          'login',
          `refused a login to the embedded broker (client ${client.id}, user ${user ?? 'none'})`,
        );
        done(notAuthorized(), false);
        return;
      }
      const idRefusal = clientIdRefusal(current(), role, client.id);
      if (idRefusal !== null) {
        refusals.failure(
          'client id',
          `refused a login to the embedded broker (user ${user ?? 'none'}): ${idRefusal}`,
        );
        done(identifierRejected(), false);
        return;
      }
      roles.set(client, role);
      done(null, true);
    },
    authorizePublish: (client, packet, done) => {
      if (packet.topic.startsWith('$SYS')) return done(new Error('$SYS topics are reserved'));
      // No client: the broker's own messages (a will of a session it restores).
      const refusal =
        client === null ? null : publishRefusal(current(), roles.get(client) ?? 'other', packet.topic);
      if (refusal === null) return done(null);
      refusals.failure('publish', `refused a publish by client ${client?.id ?? '?'}: ${refusal}`);
      done(new Error(refusal));
    },
  };
}

/** The PEM files of `mqtt.embedded_tls`; throws naming the key and file when one cannot be read. */
export function readTlsFiles(tls: EmbeddedTlsOptions): { cert: Buffer; key: Buffer } {
  return { cert: readTlsFile('embedded_tls.cert', tls.cert), key: readTlsFile('embedded_tls.key', tls.key) };
}

/** The plain listener's address: loopback when TLS serves the network, else `host`. */
function plainHost(host: string, tls: EmbeddedTlsOptions | undefined): string {
  if (tls === undefined || isLoopback(host)) return host;
  return host.includes(':') ? '::1' : '127.0.0.1';
}

function hostPort(host: string, port: number): string {
  return EVERY_INTERFACE.has(host) ? `${host}:${port} (every interface)` : `${linkHost(host)}:${port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger ?? getLogger('mqtt.broker');
  const tls = options.tls;
  // Read before anything listens: a missing certificate is a config error, not a half-started broker.
  const tlsFiles = tls === undefined ? undefined : readTlsFiles(tls);
  let access = options.access ?? OPEN;
  // Loaded here: a gateway on an external broker never loads Aedes.
  const { Aedes } = await import('aedes');
  const broker = await Aedes.createBroker(accessHooks(() => access, log));
  const clients = new Set<Client>();
  broker.on('client', (client) => clients.add(client));
  broker.on('clientDisconnect', (client) => clients.delete(client));
  const server = createServer(broker.handle);
  const tlsServer = tlsFiles === undefined ? undefined : createTlsServer(tlsFiles, broker.handle);
  const listenHost = plainHost(host, tls);
  let port: number;
  let tlsPort: number | undefined;
  try {
    port = await listen(server, listenHost, options.port ?? 1883);
    if (tlsServer && tls) tlsPort = await listen(tlsServer, host, tls.port);
  } catch (error) {
    await closeServer(server);
    await new Promise<void>((resolve) => broker.close(resolve));
    throw error;
  }
  // A client that misbehaves is its own problem, not the broker's: one debug line each.
  broker.on('clientError', (client, error) => log.debug(`client ${client.id}: ${error.message}`));
  broker.on('connectionError', (_client, error) => log.debug(`connection error: ${error.message}`));
  tlsServer?.on('tlsClientError', (error) => log.debug(`TLS handshake failed: ${error.message}`));
  const url = `mqtt://${linkHost(listenHost)}:${port}`;
  const tlsUrl = tlsPort === undefined ? undefined : `mqtts://${linkHost(host)}:${tlsPort}`;
  const where = EVERY_INTERFACE.has(listenHost) ? hostPort(listenHost, port) : url;
  const extras = [
    ...(tlsPort !== undefined ? [`TLS on ${hostPort(host, tlsPort)}`] : []),
    ...(access.gateway !== undefined ? ['clients must log in'] : []),
  ];
  log.info(
    `no mqtt.server configured: started the embedded MQTT broker on ${where}` +
      (extras.length > 0 ? ` (${extras.join(', ')})` : ''),
    { url },
  );
  if (access.gateway === undefined && !isLoopback(host)) {
    log.warn(
      `the embedded MQTT broker listens on ${host} without logins: anyone on the network can switch devices; ` +
        'set mqtt.user and mqtt.password (README: Security)',
    );
  }

  return {
    url,
    ...(tlsUrl !== undefined ? { tlsUrl } : {}),
    setAccess: (next) => {
      const rules = next ?? OPEN;
      if (JSON.stringify(rules) === JSON.stringify(access)) return;
      const sameLogins = JSON.stringify(logins(rules)) === JSON.stringify(logins(access));
      access = rules;
      // Topic rules are asked at each publish: clients logged in under the same logins stay.
      if (sameLogins) return;
      log.info(
        `the embedded MQTT broker's logins changed: disconnected ${clients.size} client(s) to log in again`,
      );
      for (const client of clients) client.close();
    },
    close: async () => {
      // Closing the broker disconnects its clients; only then can the servers finish closing.
      await new Promise<void>((resolve) => broker.close(resolve));
      await closeServer(server);
      if (tlsServer) await closeServer(tlsServer);
    },
  };
}
