import { connectAsync, type MqttClient } from 'mqtt';

// The independent subscriber: a plain mqtt.js client, connected to mosquitto directly (not through the
// gate), that records every reading (its seq, its ts and when it arrived), every availability and
// bridge state change, every bridge event and every command answer. It keeps numbers, not payloads, so a
// long soak stays small. It reconnects by itself (a broker restart must not end the recording) and
// says when it is subscribed again, which is when the gate may open.

export interface ReadingRecord {
  seq: number;
  /** When the gateway took the reading (its `ts`), ms. */
  ts: number;
  /** When it arrived here, ms. */
  at: number;
}

export interface Change {
  at: number;
  value: string;
}

export interface BridgeEventRecord {
  at: number;
  type: string;
  data: Record<string, unknown>;
}

export interface ResponseRecord {
  at: number;
  topic: string;
  status: string;
  transaction: unknown;
  error: string | undefined;
}

export interface DeviceInfo {
  id: string;
  driver: string;
  bus: string;
}

function parse(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString());
  } catch {
    return undefined;
  }
}

/** What the figures are computed from: the live Recorder, or a recording read back from raw.json. */
export interface Recording {
  readonly readings: ReadonlyMap<string, readonly ReadingRecord[]>;
  readonly availability: ReadonlyMap<string, readonly Change[]>;
  readonly bridgeState: readonly Change[];
  readonly health: readonly Change[];
  readonly events: readonly BridgeEventRecord[];
  readonly devices: ReadonlyMap<string, DeviceInfo>;
  readonly malformedReadings: number;
}

/**
 * The first reading to arrive that the gateway took at or after `since`. A reading cannot arrive
 * before it was taken (one clock, one machine), so the search starts at the first arrival after it.
 */
export function firstTakenSince(list: readonly ReadingRecord[], since: number): ReadingRecord | undefined {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((list[middle] as ReadingRecord).at < since) low = middle + 1;
    else high = middle;
  }
  for (let i = low; i < list.length; i++) {
    const reading = list[i] as ReadingRecord;
    if (reading.ts >= since) return reading;
  }
  return undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export class Recorder implements Recording {
  readonly readings = new Map<string, ReadingRecord[]>();
  readonly availability = new Map<string, Change[]>();
  readonly bridgeState: Change[] = [];
  readonly health: Change[] = [];
  readonly events: BridgeEventRecord[] = [];
  readonly responses: ResponseRecord[] = [];
  readonly devices = new Map<string, DeviceInfo>();
  /** Readings whose payload had no usable seq/ts (a gateway bug if it ever counts up). */
  malformedReadings = 0;
  /** When the last message of any kind arrived. */
  lastMessageAt = 0;
  /** When the subscriber was disconnected, and when it was subscribed again. */
  readonly outages: { from: number; to: number | undefined }[] = [];
  readonly #client: MqttClient;
  readonly #base: string;
  #subscribed = false;
  #waiters: (() => void)[] = [];

  private constructor(client: MqttClient, base: string) {
    this.#client = client;
    this.#base = base;
    client.on('message', (topic, payload) => this.#message(topic, payload));
    client.on('close', () => {
      if (!this.#subscribed) return;
      const at = Date.now();
      this.outages.push({ from: at, to: undefined });
      this.#subscribed = false;
      // What the broker says after a restart is news; until then nothing is known (a broker without
      // persistence forgets retained topics, so the old value must not be carried over).
      this.#pushChange(this.bridgeState, 'unknown', at);
      this.#pushChange(this.health, 'unknown', at);
      for (const list of this.availability.values()) this.#pushChange(list, 'unknown', at);
    });
    client.on('connect', () => void this.#subscribe());
  }

  static async start(url: string, base: string): Promise<Recorder> {
    const client = await connectAsync(url, {
      reconnectPeriod: 100,
      connectTimeout: 2_000,
      clientId: `soak-recorder-${process.pid}`,
      // Resubscribing is done here (#subscribe), so that "subscribed again" is known exactly.
      resubscribe: false,
    });
    const recorder = new Recorder(client, base);
    await recorder.#subscribe();
    return recorder;
  }

  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** Resolves once the subscriptions are granted (again). */
  async whenSubscribed(timeoutMs: number): Promise<boolean> {
    if (this.#subscribed) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  publish(topic: string, payload: string | Buffer): Promise<unknown> {
    return this.#client.publishAsync(topic, payload, { qos: 1 });
  }

  /** The latest reading of a device, or undefined. */
  last(deviceId: string): ReadingRecord | undefined {
    return this.readings.get(deviceId)?.at(-1);
  }

  firstTakenSince(deviceId: string, since: number): ReadingRecord | undefined {
    return firstTakenSince(this.readings.get(deviceId) ?? [], since);
  }

  devicesOf(driver: string): string[] {
    return [...this.devices.values()].filter((device) => device.driver === driver).map((device) => device.id);
  }

  /** Devices that have published at least one reading. */
  readingDevices(): string[] {
    return [...this.readings.keys()];
  }

  async close(): Promise<void> {
    await this.#client.endAsync(true);
  }

  async #subscribe(): Promise<void> {
    const base = this.#base;
    try {
      await this.#client.subscribeAsync(
        [`${base}/+/reading`, `${base}/+/availability`, `${base}/+/response`, `${base}/bridge/#`],
        { qos: 1 },
      );
    } catch {
      // The connection dropped while subscribing: the next 'connect' subscribes again.
      return;
    }
    if (!this.#client.connected) return;
    this.#subscribed = true;
    const outage = this.outages.at(-1);
    if (outage && outage.to === undefined) outage.to = Date.now();
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #message(topic: string, payload: Buffer): void {
    const at = Date.now();
    this.lastMessageAt = at;
    const rest = topic.slice(this.#base.length + 1);
    const slash = rest.indexOf('/');
    const head = slash < 0 ? rest : rest.slice(0, slash);
    const tail = slash < 0 ? '' : rest.slice(slash + 1);
    if (head === 'bridge') return this.#bridge(tail, payload, at);
    if (tail === 'reading') return this.#reading(head, payload, at);
    if (tail === 'availability') return this.#change(this.availability, head, payload.toString(), at);
    if (tail === 'response') return this.#response(topic, payload, at);
  }

  #reading(deviceId: string, payload: Buffer, at: number): void {
    const value = parse(payload);
    const seq = isObject(value) ? value.seq : undefined;
    const ts = isObject(value) && typeof value.ts === 'string' ? Date.parse(value.ts) : Number.NaN;
    if (typeof seq !== 'number' || Number.isNaN(ts)) {
      this.malformedReadings += 1;
      return;
    }
    let list = this.readings.get(deviceId);
    if (!list) this.readings.set(deviceId, (list = []));
    list.push({ seq, ts, at });
  }

  #change(map: Map<string, Change[]>, key: string, value: string, at: number): void {
    let list = map.get(key);
    if (!list) map.set(key, (list = []));
    // Retained messages come again after each resubscribe: only changes are kept.
    if (list.at(-1)?.value !== value) list.push({ at, value });
  }

  #bridge(tail: string, payload: Buffer, at: number): void {
    if (tail.startsWith('response/')) return this.#response(`${this.#base}/bridge/${tail}`, payload, at);
    const value = parse(payload);
    if (!isObject(value) && !Array.isArray(value)) return;
    switch (tail) {
      case 'state':
        if (isObject(value) && typeof value.state === 'string')
          this.#pushChange(this.bridgeState, value.state, at);
        return;
      case 'health':
        if (isObject(value) && typeof value.status === 'string')
          this.#pushChange(this.health, value.status, at);
        return;
      case 'event':
        if (isObject(value) && typeof value.type === 'string') {
          this.events.push({ at, type: value.type, data: isObject(value.data) ? value.data : {} });
        }
        return;
      case 'devices':
        if (!Array.isArray(value)) return;
        for (const entry of value) {
          if (isObject(entry) && typeof entry.id === 'string') {
            this.devices.set(entry.id, {
              id: entry.id,
              driver: String(entry.driver),
              bus: String(entry.bus),
            });
          }
        }
        return;
    }
  }

  #pushChange(list: Change[], value: string, at: number): void {
    if (list.at(-1)?.value !== value) list.push({ at, value });
  }

  #response(topic: string, payload: Buffer, at: number): void {
    const value = parse(payload);
    if (!isObject(value)) return;
    this.responses.push({
      at,
      topic,
      status: String(value.status),
      transaction: value.transaction,
      error: typeof value.error === 'string' ? value.error : undefined,
    });
  }
}
