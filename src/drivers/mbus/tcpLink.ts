import { connect, type Socket } from 'node:net';
import { parseTcpPort } from './portConfig.js';
import type { ByteLink, SerialSettings } from './serialLink.js';

// The byte pipe to an M-Bus level converter on Ethernet: a transparent TCP connection (the converter
// puts every byte on the bus at its configured baud and sends back what the meters say). The master
// above it is the same as on a serial port. A converter that is off refuses or never completes the
// connection (bounded by the connect timeout); one that reboots closes it or resets it (the link is
// lost at once); one that vanishes without a word leaves the connection half-open, which keepalive
// and the runtime's silent-link check notice.

/** How long a converter has to accept the connection. */
export const TCP_CONNECT_TIMEOUT_MS = 5_000;
/** Idle time before the first keepalive probe: a dead peer is noticed even on a quiet line. */
export const TCP_KEEPALIVE_MS = 10_000;

export async function openTcpLink(
  settings: SerialSettings,
  signal: AbortSignal,
  connectTimeoutMs = TCP_CONNECT_TIMEOUT_MS,
): Promise<ByteLink> {
  const { host, port } = parseTcpPort(settings.path);
  signal.throwIfAborted();
  const socket = connect({
    host,
    port,
    noDelay: true,
    keepAlive: true,
    keepAliveInitialDelay: TCP_KEEPALIVE_MS,
  });
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (error === undefined) return resolve();
      socket.destroy();
      reject(error);
    };
    const onConnect = () => settle();
    const onError = (error: Error) =>
      settle(new Error(`cannot connect to ${settings.path}: ${error.message}`));
    const onAbort = () => settle(new Error(`connecting to ${settings.path} was cancelled`));
    const timer = setTimeout(
      () => settle(new Error(`${settings.path} did not accept a connection within ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return new TcpByteLink(settings.path, socket);
}

class TcpByteLink implements ByteLink {
  #dataListener: (chunk: Buffer) => void = () => undefined;
  #lostListener: (reason: string) => void = () => undefined;
  #lost = false;
  #closing = false;

  constructor(
    readonly path: string,
    private readonly socket: Socket,
  ) {
    socket.on('data', (chunk: Buffer) => this.#dataListener(chunk));
    socket.on('error', (error: Error) => this.#markLost(`connection error: ${error.message}`));
    // The converter closed its side (a reboot, or its idle timeout): nothing more will come.
    socket.on('end', () => this.#markLost('the converter closed the connection'));
    socket.on('close', () => this.#markLost('the connection was closed'));
  }

  #markLost(reason: string): void {
    if (!this.socket.destroyed) this.socket.destroy();
    if (this.#lost || this.#closing) return;
    this.#lost = true;
    this.#lostListener(reason);
  }

  write(bytes: Buffer): Promise<void> {
    if (this.#lost || this.#closing || this.socket.destroyed) {
      return Promise.reject(new Error(`${this.path} is gone`));
    }
    return new Promise((resolve, reject) => {
      // The callback comes with an error when the socket is destroyed before the bytes are out.
      this.socket.write(bytes, (error) =>
        error ? reject(new Error(`write to ${this.path} failed: ${error.message}`)) : resolve(),
      );
    });
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.#dataListener = listener;
  }

  onLost(listener: (reason: string) => void): void {
    this.#lostListener = listener;
  }

  discardInput(): Promise<void> {
    // Bytes are handed over as they arrive and the master forgets them before each request: nothing
    // is held here to drop.
    if (this.#lost || this.#closing) return Promise.reject(new Error(`${this.path} is gone`));
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closing = true;
    if (this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}
