import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { DaliCenterProblem } from './codec/index.js';
import {
  answers,
  clientIdFor,
  commandTopic,
  type DaliCenterCommand,
  encodeCommand,
  expectedReply,
  type InboundMessage,
  MessageIds,
  parseInbound,
  reportTopic,
} from './codec/index.js';
import { abortable, boundedSignal } from '../shared/wait.js';
import { BusLinkDown } from '../contract.js';
import { errorText } from '../../errorText.js';

// One MQTT connection to a DALI Center gateway's own broker (notes §3-§4): MQTT 3.1.1, QoS 0, the two
// fixed topics, a client id unique per connection (the broker kicks a duplicate id). mqtt.js never
// reconnects by itself (`reconnectPeriod: 0`): the connection machines are the one reconnect driver, so
// a lost connection is reported once and this object is done; the runtime opens a new one.

/** Where and how to reach one gateway's broker. */
export interface GatewayEndpoint {
  serial: string;
  host: string;
  port: number;
  username?: string | undefined;
  password?: string | undefined;
  tls: boolean;
  /** PEM CA to verify a TLS gateway; none: not verified (the vendor SDK does not either). */
  caFile?: string | undefined;
}

/**
 * The gateway cannot be used until the user acts (pair again, give the right CA): trying again does not
 * help, so it is said once and the gateway not asked again for a while (connection.ts).
 */
export class GatewayRefusal extends BusLinkDown {}

/** The broker refused the login (CONNACK 4 bad user name or password, 5 not authorised): pairing is stale. */
export class GatewayAuthRefused extends GatewayRefusal {
  override readonly name = 'GatewayAuthRefused';
  constructor(
    readonly serial: string,
    readonly code: number,
  ) {
    super(
      `DALI Center gateway ${serial} refused the login (CONNACK ${code}: ${code === 4 ? 'bad user name or password' : 'not authorised'}): pair it again (press its button and send dalicenter/pair)`,
    );
  }
}

/** The gateway's TLS certificate is not trusted by the configured CA, or the CA file cannot be read. */
export class GatewayTlsRefused extends GatewayRefusal {
  override readonly name = 'GatewayTlsRefused';
}

/** What OpenSSL says (Node's error codes) when a certificate chain does not verify against the CA given. */
const CERTIFICATE_NOT_TRUSTED = new Set([
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'INVALID_CA',
  'INVALID_PURPOSE',
]);

const LEAVE_CA_OUT = 'or leave ca_file out to connect without verifying it (as the vendor SDK does)';

/** The CA to verify a TLS gateway with, read now: a file that cannot be read is the user's to fix. */
function caOf(endpoint: GatewayEndpoint, caFile: string): Buffer {
  try {
    return readFileSync(caFile);
  } catch (error) {
    throw new GatewayTlsRefused(
      `cannot read ca_file ${caFile} of DALI Center gateway ${endpoint.serial}: ${errorText(error)}: fix the path, ${LEAVE_CA_OUT}`,
      { cause: error },
    );
  }
}

export const CONNECT_TIMEOUT_MS = 5_000;
export const REPLY_TIMEOUT_MS = 5_000;
/** MQTT keepalive: a silent broker (no PINGRESP) is noticed within 1.5 × this. */
export const KEEPALIVE_S = 10;

interface Waiter {
  matches(message: InboundMessage): boolean;
  resolve(message: InboundMessage): void;
  reject(error: Error): void;
}

export interface LinkHandlers {
  /** Every good message (replies included: pushes and replies share the topic). */
  message(message: InboundMessage): void;
  /** A message refused or partly dropped by the parser. */
  problem(problem: DaliCenterProblem): void;
  /** The connection is gone (once, never after `close`). */
  lost(reason: string): void;
}

export class GatewayLink {
  readonly #waiters = new Set<Waiter>();
  readonly #ids = new MessageIds();
  #closed = false;

  private constructor(
    readonly endpoint: GatewayEndpoint,
    private readonly client: MqttClient,
    private readonly handlers: LinkHandlers,
  ) {
    client.on('message', (_topic, payload) => this.#received(payload));
    client.on('close', () => this.#lost('the connection closed'));
    client.on('error', (error) => this.#lost(error.message));
  }

  /** Connects, logs in and subscribes; rejects on refusal, timeout or abort (the client is ended). */
  static async open(
    endpoint: GatewayEndpoint,
    handlers: LinkHandlers,
    signal: AbortSignal,
    now: () => number = Date.now,
  ): Promise<GatewayLink> {
    signal.throwIfAborted();
    const options: IClientOptions = {
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: CONNECT_TIMEOUT_MS,
      keepalive: KEEPALIVE_S,
      clientId: `${clientIdFor(endpoint.serial, now())}_${Math.random().toString(16).slice(2, 6)}`,
      ...(endpoint.username !== undefined ? { username: endpoint.username } : {}),
      ...(endpoint.password !== undefined ? { password: endpoint.password } : {}),
      ...(endpoint.tls
        ? endpoint.caFile !== undefined
          ? {
              ca: caOf(endpoint, endpoint.caFile),
              rejectUnauthorized: true,
              checkServerIdentity: () => undefined,
            }
          : { rejectUnauthorized: false }
        : {}),
    };
    const url = `${endpoint.tls ? 'mqtts' : 'mqtt'}://${endpoint.host}:${endpoint.port}`;
    const client = connect(url, options);
    const where = `DALI Center gateway ${endpoint.serial} at ${endpoint.host}:${endpoint.port}`;
    try {
      await new Promise<void>((resolve, reject) => {
        const settle = (error?: Error) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          client.off('connect', onConnect);
          client.off('error', onError);
          client.off('close', onClose);
          if (error) reject(error);
          else resolve();
        };
        const onConnect = () => settle();
        const onError = (error: Error & { code?: unknown }) =>
          settle(
            error.code === 4 || error.code === 5
              ? new GatewayAuthRefused(endpoint.serial, error.code)
              : typeof error.code === 'string' && CERTIFICATE_NOT_TRUSTED.has(error.code)
                ? new GatewayTlsRefused(
                    `the TLS certificate of ${where} is not trusted by ca_file ${endpoint.caFile ?? '(none)'} (${error.message}): give the CA that signed the gateway's certificate in ca_file, ${LEAVE_CA_OUT}`,
                    { cause: error },
                  )
                : new Error(`cannot reach ${where}: ${error.message}`),
          );
        const onClose = () => settle(new Error(`${where} closed the connection before logging in`));
        const onAbort = () => settle(new Error(`connecting to ${where} was cancelled`));
        const timer = setTimeout(
          () => settle(new Error(`${where} did not accept a login within ${CONNECT_TIMEOUT_MS} ms`)),
          CONNECT_TIMEOUT_MS + 500,
        );
        client.once('connect', onConnect);
        client.on('error', onError);
        client.once('close', onClose);
        signal.addEventListener('abort', onAbort, { once: true });
      });
      await abortable(
        client.subscribeAsync(reportTopic(endpoint.serial), { qos: 0 }),
        boundedSignal(signal, REPLY_TIMEOUT_MS, `the subscription at ${where}`),
      );
    } catch (error) {
      client.end(true);
      throw error;
    }
    return new GatewayLink(endpoint, client, handlers);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Publishes a command without waiting for anything (no reply is documented, or none is wanted). */
  send(command: DaliCenterCommand): string {
    if (this.#closed) throw new Error(`the link to gateway ${this.endpoint.serial} is down`);
    const msgId = this.#ids.next();
    this.client.publish(
      commandTopic(this.endpoint.serial),
      encodeCommand(command, {
        gatewaySerial: this.endpoint.serial,
        msgId,
      }),
      { qos: 0 },
    );
    return msgId;
  }

  /** Publishes a command and resolves with its reply; rejects on timeout, abort or a lost link. */
  request(
    command: DaliCenterCommand,
    signal: AbortSignal,
    timeoutMs = REPLY_TIMEOUT_MS,
  ): Promise<InboundMessage> {
    const reply = expectedReply(command);
    if (reply === undefined) return Promise.reject(new Error(`${command.cmd} has no reply to wait for`));
    let msgId = '';
    return this.waitFor(
      (message) => answers(message, reply, msgId),
      signal,
      timeoutMs,
      `${reply.cmd}`,
      () => {
        msgId = this.send(command);
      },
    );
  }

  /**
   * Resolves with the first message that `matches` (after `start` ran, if given); rejects on timeout,
   * abort or a lost link.
   */
  waitFor(
    matches: (message: InboundMessage) => boolean,
    signal: AbortSignal,
    timeoutMs: number,
    what: string,
    start?: () => void,
  ): Promise<InboundMessage> {
    if (this.#closed) return Promise.reject(new Error(`the link to gateway ${this.endpoint.serial} is down`));
    if (signal.aborted) return Promise.reject(new Error(`waiting for ${what} was cancelled`));
    return new Promise<InboundMessage>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiters.delete(waiter);
      };
      const waiter: Waiter = {
        matches,
        resolve: (message) => {
          finish();
          resolve(message);
        },
        reject: (error) => {
          finish();
          reject(error);
        },
      };
      const onAbort = () => waiter.reject(new Error(`waiting for ${what} was cancelled`));
      const timer = setTimeout(
        () =>
          waiter.reject(new Error(`gateway ${this.endpoint.serial} sent no ${what} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
      try {
        start?.();
      } catch (error) {
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Ends the connection; no handler is called after it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failWaiters('the link was closed');
    this.client.removeAllListeners('message');
    this.client.on('error', () => undefined);
    this.client.end(true);
  }

  #received(payload: Buffer): void {
    if (this.#closed) return;
    const result = parseInbound(payload, { gatewaySerial: this.endpoint.serial });
    if (!result.ok) return this.handlers.problem(result.problem);
    for (const found of result.problems) this.handlers.problem(found);
    for (const waiter of [...this.#waiters])
      if (waiter.matches(result.message)) waiter.resolve(result.message);
    this.handlers.message(result.message);
  }

  #lost(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failWaiters(`the link to gateway ${this.endpoint.serial} was lost: ${reason}`);
    this.client.on('error', () => undefined);
    this.client.end(true);
    this.handlers.lost(reason);
  }

  #failWaiters(reason: string): void {
    for (const waiter of [...this.#waiters]) waiter.reject(new Error(reason));
  }
}
