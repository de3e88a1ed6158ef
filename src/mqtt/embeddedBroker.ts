import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { getLogger, type Logger } from '../logging/index.js';

// Without `mqtt.server` fieldbridge brings its own broker (Aedes, in memory, on loopback only), so a
// first run works with nothing else installed. Its retained messages and sessions last as long as
// the process.

export interface EmbeddedBrokerOptions {
  /** The address it listens on (default 127.0.0.1); 0.0.0.0 or :: listens on every interface. */
  host?: string;
  /** 1883 by default; 0 picks a free port (tests). */
  port?: number;
  logger?: Logger;
}

export interface EmbeddedBroker {
  url: string;
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

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const log = options.logger ?? getLogger('mqtt.broker');
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  let port: number;
  try {
    port = await listen(server, host, options.port ?? 1883);
  } catch (error) {
    await new Promise<void>((resolve) => broker.close(resolve));
    throw error;
  }
  // A client that misbehaves is its own problem, not the broker's: one debug line each.
  broker.on('clientError', (client, error) => log.debug(`client ${client.id}: ${error.message}`));
  broker.on('connectionError', (_client, error) => log.debug(`connection error: ${error.message}`));
  const url = `mqtt://${linkHost(host)}:${port}`;
  const where = EVERY_INTERFACE.has(host) ? `${host}:${port} (every interface)` : url;
  log.info(`no mqtt.server configured: started the embedded MQTT broker on ${where}`, { url });

  return {
    url,
    close: async () => {
      // Closing the broker disconnects its clients; only then can the server finish closing.
      await new Promise<void>((resolve) => broker.close(resolve));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
