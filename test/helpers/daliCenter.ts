import { createSocket, type Socket } from 'node:dgram';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import {
  type DaliCenterCommand,
  encodeCommand,
  type InboundMessage,
  type InboundResult,
  MessageIds,
  parseInbound,
} from '../../src/drivers/dalicenter/codec/index.js';
import type { SimulatedDaliCenter } from '../../src/drivers/dalicenter/simulator/index.js';
import { eventually } from './eventually.js';

// A bare client of a simulated DALI Center gateway for the simulator tests: a real mqtt.js connection to
// the gateway's broker (MQTT 3.1.1, QoS 0, no reconnect of its own) that records and parses every report,
// and a UDP listener standing where the SDK listens for discovery replies.

export class GatewayClient {
  readonly raw: Buffer[] = [];
  readonly results: InboundResult[] = [];
  /** Socket and protocol errors the connection reported (ECONNRESET...). */
  readonly errors: Error[] = [];
  private readonly ids = new MessageIds();
  closed = false;

  private constructor(
    readonly client: MqttClient,
    private readonly gateway: SimulatedDaliCenter,
  ) {
    client.on('message', (_topic, payload) => {
      this.raw.push(Buffer.from(payload));
      this.results.push(parseInbound(payload, { gatewaySerial: gateway.serial }));
    });
    client.on('close', () => (this.closed = true));
    client.on('error', (error) => this.errors.push(error));
  }

  static async connect(gateway: SimulatedDaliCenter, options: IClientOptions = {}): Promise<GatewayClient> {
    const client = await connectAsync(gateway.mqttUrl, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 3_000,
      clientId: `test_${gateway.serial}_${Date.now()}_${Math.random().toString(16).slice(2, 8)}`,
      // As a client paired with it: what it was set up with.
      ...gateway.pairingCredentials,
      ...options,
    });
    const wrapper = new GatewayClient(client, gateway);
    await client.subscribeAsync(gateway.reportTopic, { qos: 0 });
    return wrapper;
  }

  /** Parsed messages so far. */
  messages(): InboundMessage[] {
    return this.results.flatMap((result) => (result.ok ? [result.message] : []));
  }

  /** Publishes a command; returns its msgId. */
  async send(command: DaliCenterCommand): Promise<string> {
    const msgId = this.ids.next();
    await this.client.publishAsync(
      this.gateway.commandTopic,
      encodeCommand(command, { gatewaySerial: this.gateway.serial, msgId }),
    );
    return msgId;
  }

  /** Waits for messages matching `match` until `count` have arrived; returns them. */
  async waitFor(
    match: (message: InboundMessage) => boolean,
    count = 1,
    timeoutMs = 3_000,
  ): Promise<InboundMessage[]> {
    let found: InboundMessage[] = [];
    await eventually(() => (found = this.messages().filter(match)).length >= count, {
      what: `${count} matching report(s)`,
      timeoutMs,
      detail: () => JSON.stringify(this.messages().map((message) => message.cmd)),
    });
    return found;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}

/** A UDP socket on 127.0.0.1 that collects datagrams (where discovery replies arrive). */
export class UdpListener {
  readonly received: Buffer[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('message', (message) => this.received.push(message));
  }

  static async open(): Promise<UdpListener> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new UdpListener(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(datagram: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(datagram, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())),
    );
  }

  async waitForCount(count: number, timeoutMs = 2_000): Promise<void> {
    await eventually(() => this.received.length >= count, { what: `${count} datagram(s)`, timeoutMs });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

/**
 * How an mqtt.js connection attempt ended: undefined when it connected, else the CONNACK code it was
 * refused with, the socket error's code, or the error's message (a connack timeout has no code).
 */
export async function connackRefusal(
  gateway: SimulatedDaliCenter,
  options: IClientOptions,
): Promise<number | string | undefined> {
  try {
    const client = await connectAsync(gateway.mqttUrl, {
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 3_000,
      ...options,
    });
    await client.endAsync(true);
    return undefined;
  } catch (error) {
    const { code, message } = error as { code?: number | string; message: string };
    return code ?? message;
  }
}
