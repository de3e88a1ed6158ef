import type { ChildProcess } from 'node:child_process';
import { forkBenchScript } from './scripts.js';

// The parent's handle on the benchmark subscriber (subscriberProcess.ts runs in a child process). A
// benchmark asks it to watch a topic filter until a number of readings (topics ending in /reading) and
// optionally a marker topic have arrived; it answers with the time the last one arrived.

export type SubscriberRequest =
  | { type: 'watch'; filter: string; readings: number; marker?: string; latency: boolean }
  | { type: 'status' }
  | { type: 'exit' };

export type SubscriberReply =
  | { type: 'connected' }
  | { type: 'ready' }
  | { type: 'status'; total: number; readings: number }
  | { type: 'done'; atUs: number; total: number; readings: number; latenciesUs: number[] };

export type Delivered = Extract<SubscriberReply, { type: 'done' }>;

export interface WatchOptions {
  /** Topic filter to subscribe to (QoS 1). */
  filter: string;
  /** Done once this many messages on `…/reading` topics arrived… */
  readings: number;
  /** …and, if given, this topic (sent after everything else). */
  marker?: string;
  /** Collect produced→received latencies from the payloads' `t` (hrtime µs). */
  latency?: boolean;
}

/** process.hrtime in µs, the clock the subscriber stamps arrivals with. */
export const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

type Waiter = (reply: SubscriberReply) => void;

export class SubscriberProcess {
  readonly #child: ChildProcess;
  readonly #waiters = new Map<SubscriberReply['type'], Waiter>();
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (reply: SubscriberReply) => {
      const waiter = this.#waiters.get(reply.type);
      this.#waiters.delete(reply.type);
      waiter?.(reply);
    });
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static async start(url: string): Promise<SubscriberProcess> {
    const child = forkBenchScript('subscriberProcess', [url]);
    const subscriber = new SubscriberProcess(child);
    const failed = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`the bench subscriber exited (${code})`))),
    );
    await Promise.race([subscriber.#next('connected'), failed]);
    return subscriber;
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Subscribes (resolves after the SUBACK) and returns a function that waits for the delivery. */
  async watch(options: WatchOptions): Promise<(timeoutMs: number) => Promise<Delivered>> {
    const done = this.#next('done') as Promise<Delivered>;
    const ready = this.#next('ready');
    this.#send({
      type: 'watch',
      filter: options.filter,
      readings: options.readings,
      ...(options.marker !== undefined ? { marker: options.marker } : {}),
      latency: options.latency ?? false,
    });
    await ready;
    return async (timeoutMs) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
      );
      const result = await Promise.race([done, timeout]);
      clearTimeout(timer);
      if (result !== 'timeout') return result;
      const status = this.#next('status') as Promise<Extract<SubscriberReply, { type: 'status' }>>;
      this.#send({ type: 'status' });
      const { total, readings } = await status;
      throw new Error(
        `the subscriber got ${readings} of ${options.readings} readings (${total} messages) ` +
          `on ${options.filter} within ${timeoutMs} ms`,
      );
    };
  }

  async close(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.connected) this.#send({ type: 'exit' });
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 2_000);
    await this.#exited;
    clearTimeout(timer);
  }

  #send(request: SubscriberRequest): void {
    this.#child.send(request);
  }

  #next(type: SubscriberReply['type']): Promise<SubscriberReply> {
    return new Promise((resolve) => this.#waiters.set(type, resolve));
  }
}
