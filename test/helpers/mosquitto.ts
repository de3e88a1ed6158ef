import { connectAsync, type MqttClient } from 'mqtt';
import { describe } from 'vitest';
import { MOSQUITTO_BIN } from '../../bench/broker.js';
import { eventually } from './eventually.js';

// A real Mosquitto for the MQTT integration tests: one process per test file, on a free loopback port,
// that a test can stop, kill and restart on the same port, so clients see the broker vanish and return.
// The broker itself lives in bench/broker.ts (the benchmarks start it too, without vitest).

export { freePort, Mosquitto, MOSQUITTO_BIN } from '../../bench/broker.js';

/** `describe` that skips, saying why, when mosquitto is not installed. */
export function describeWithMosquitto(name: string, body: () => void): void {
  if (MOSQUITTO_BIN === undefined) {
    console.warn(`skipping "${name}": mosquitto is not installed (apt-get install -y mosquitto)`);
  }
  describe.skipIf(MOSQUITTO_BIN === undefined)(name, body);
}

export interface RecordedMessage {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A plain mqtt.js client that records every message on `filters`, for assertions. */
export class Recorder {
  readonly messages: RecordedMessage[] = [];
  readonly client: MqttClient;

  private constructor(client: MqttClient) {
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), retain: packet.retain });
    });
  }

  static async start(url: string, filters: string | string[]): Promise<Recorder> {
    const client = await connectAsync(url, { reconnectPeriod: 0, clientId: `recorder-${Math.random()}` });
    const recorder = new Recorder(client);
    await client.subscribeAsync(filters, { qos: 1 });
    return recorder;
  }

  on(topic: string): RecordedMessage[] {
    return this.messages.filter((message) => message.topic === topic);
  }

  /** Resolves with the first recorded message that matches, waiting up to `timeoutMs` for it. */
  async waitFor(match: (message: RecordedMessage) => boolean, timeoutMs = 5_000): Promise<RecordedMessage> {
    let found: RecordedMessage | undefined;
    await eventually(() => (found = this.messages.find(match)) !== undefined, {
      what: 'a matching message',
      timeoutMs,
      detail: () => `got ${JSON.stringify(this.messages)}`,
    });
    return found as RecordedMessage;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
