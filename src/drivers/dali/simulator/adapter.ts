import { type BackwardResult, INVALID_ANSWER, NO_ANSWER } from '../codec/backward.js';
import { DaliError, formatHex } from '../codec/errors.js';
import { decodeForwardFrame, describeForwardFrame } from '../codec/frames.js';
import {
  encodeFirmwareVersionReport,
  encodeNoDataReport,
  encodeResponseReport,
  type FirmwareVersion,
  formatFirmwareVersion,
  type HassebOutReport,
  MIN_HASSEB_FIRMWARE,
  parseOutReport,
} from '../codec/hasseb.js';
import {
  HASSEB_PRODUCT_ID,
  HASSEB_VENDOR_ID,
  type HidAdapterInfo,
  type HidTransport,
} from '../hidTransport.js';
import type { DaliBus } from './bus.js';
import { EventLog, type SimEvent } from './events.js';
import { FaultInjector, type HassebFaults } from './faults.js';

// A hasseb DALI Master that exists only in memory: it takes OUT reports through the same HidTransport the
// real stick is opened with, plays the frames on a virtual DALI bus (bus.ts) with DALI's timing, and
// answers with IN reports, including the adapter's own quirks (idle no-data reports, replies the host
// gave up on turning up late with an old sequence number) and the faults the test asks for.

export interface FakeHassebOptions {
  bus: DaliBus;
  /** Default: the hasseb's ids at /dev/hidraw0. */
  info?: Partial<HidAdapterInfo>;
  /** What READ FIRMWARE VERSION answers. Default: the oldest supported (2.3). */
  firmware?: FirmwareVersion;
  /** An injector shared with other adapters of the same stick, or faults for a new one. */
  faults?: FaultInjector | Partial<HassebFaults>;
  /** Seed of a new injector. */
  seed?: number;
  /** No DALI wire time: answers come after a macrotask instead of ~30 ms. */
  fast?: boolean;
  /** Interval of idle no-data reports while open (the host polling the IN endpoint); 0 = none. Default 100. */
  idleIntervalMs?: number;
  log?: EventLog;
  now?: () => number;
}

export type AdapterState = 'open' | 'closed' | 'lost';

/** DALI runs at 1200 bit/s: a forward frame is 1 start + 16 data + 2 stop bits. */
export const FORWARD_FRAME_MS = 19 / 1.2;
/** Settling time before the answer (2.9-10.2 ms allowed; a typical 5.5) plus 11 bits of backward frame. */
export const BACKWARD_FRAME_MS = 5.5 + 11 / 1.2;
/** The hasseb buffers this many OUT reports; more are lost. */
export const HASSEB_QUEUE_LIMIT = 8;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) setImmediate(resolve);
    else setTimeout(resolve, ms).unref();
  });
}

export class FakeHassebAdapter implements HidTransport {
  readonly info: HidAdapterInfo;
  readonly bus: DaliBus;
  readonly faults: FaultInjector;
  readonly log: EventLog;
  readonly firmware: FirmwareVersion;
  /** Every OUT report written, in order. */
  readonly written: Buffer[] = [];
  /** Every IN report delivered to the listener, in order. */
  readonly delivered: Buffer[] = [];
  readonly #fast: boolean;
  readonly #now: () => number;
  #state: AdapterState = 'open';
  #lostReason = '';
  #reportListener: ((report: Buffer) => void) | undefined;
  #lostListener: ((reason: string) => void) | undefined;
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  #lastResponse: Buffer | undefined;
  #sniffing = false;
  #idleTimer: NodeJS.Timeout | undefined;

  constructor(options: FakeHassebOptions) {
    this.bus = options.bus;
    this.info = {
      path: '/dev/hidraw0',
      vendorId: HASSEB_VENDOR_ID,
      productId: HASSEB_PRODUCT_ID,
      product: 'HASSEB DALI Master (simulated)',
      ...options.info,
    };
    this.firmware = options.firmware ?? MIN_HASSEB_FIRMWARE;
    this.faults =
      options.faults instanceof FaultInjector
        ? options.faults
        : new FaultInjector({ seed: options.seed, faults: options.faults });
    this.#now = options.now ?? Date.now;
    this.log = options.log ?? new EventLog({ now: this.#now });
    this.#fast = options.fast ?? false;
    const idleMs = options.idleIntervalMs ?? 100;
    if (idleMs > 0) {
      this.#idleTimer = setInterval(() => this.#deliver(encodeNoDataReport(), false), idleMs);
      this.#idleTimer.unref();
    }
  }

  get state(): AdapterState {
    return this.#state;
  }

  /** Whether the host switched sniffing on (configure report); sniffed traffic is not modelled. */
  get sniffing(): boolean {
    return this.#sniffing;
  }

  write(report: Buffer): Promise<void> {
    if (this.#state === 'lost') {
      return Promise.reject(new Error(`cannot write to ${this.info.path}: ${this.#lostReason}`));
    }
    if (this.#state === 'closed')
      return Promise.reject(new Error(`cannot write to ${this.info.path}: closed`));
    const copy = Buffer.from(report);
    this.written.push(copy);
    this.#record({ level: 'debug', message: `OUT ${formatHex(copy)}` });
    if (this.#queued >= HASSEB_QUEUE_LIMIT) {
      this.#record({
        level: 'info',
        message: `buffer full (${HASSEB_QUEUE_LIMIT} reports waiting): dropped OUT ${formatHex(copy)}`,
      });
      return Promise.resolve();
    }
    this.#queued += 1;
    this.#chain = this.#chain
      .then(() => this.#handle(copy))
      .catch((error: unknown) => this.#record({ level: 'info', message: `internal error: ${String(error)}` }))
      .finally(() => (this.#queued -= 1));
    // The USB write completes when the stick has the report, long before the frame is on the bus.
    return Promise.resolve();
  }

  onReport(listener: (report: Buffer) => void): void {
    this.#reportListener = listener;
  }

  onLost(listener: (reason: string) => void): void {
    this.#lostListener = listener;
    if (this.#state === 'lost') {
      // Lost before anyone listened (an unplug racing the open): still say so, once.
      const reason = this.#lostReason;
      this.#lostListener = undefined;
      queueMicrotask(() => listener(reason));
    }
  }

  close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closed';
      this.#stopIdle();
      this.#record({ level: 'info', message: 'closed' });
    }
    return Promise.resolve();
  }

  /** The stick is gone (pulled out, I/O error): writes reject from now on and onLost fires once. */
  lose(reason: string): void {
    if (this.#state !== 'open') return;
    this.#state = 'lost';
    this.#lostReason = reason;
    this.#stopIdle();
    this.#record({ level: 'info', message: `lost: ${reason}` });
    const listener = this.#lostListener;
    this.#lostListener = undefined;
    listener?.(reason);
  }

  /** Resolves when every report written so far has been played and answered. */
  settled(): Promise<void> {
    return this.#chain;
  }

  #stopIdle(): void {
    if (this.#idleTimer) clearInterval(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  #record(event: SimEvent): void {
    this.log.record(this.info.path, event);
  }

  #deliver(report: Buffer, logIt = true): void {
    if (this.#state !== 'open' || !this.#reportListener) return;
    this.delivered.push(report);
    if (logIt) this.#record({ level: 'debug', message: `IN ${formatHex(report)}` });
    this.#reportListener(report);
  }

  /** DALI's time on the wire (none when fast), plus a fault's extra delay (always). */
  #wait(wireMs: number, extraMs = 0): Promise<void> {
    return sleep((this.#fast ? 0 : wireMs) + extraMs);
  }

  async #handle(bytes: Buffer): Promise<void> {
    let report: HassebOutReport;
    try {
      report = parseOutReport(bytes);
    } catch (error) {
      if (!(error instanceof DaliError)) throw error;
      // The firmware drops what it cannot parse; the host only notices that no answer comes.
      this.#record({ level: 'info', message: `ignored OUT report: ${error.message}` });
      return;
    }
    switch (report.kind) {
      case 'no_operation':
        return;
      case 'configure':
        this.#sniffing = report.sniffing;
        this.#record({ level: 'info', message: `sniffing ${report.sniffing ? 'on' : 'off'}` });
        return;
      case 'read_firmware_version':
        await this.#wait(1, this.faults.faults.slowMs);
        this.#deliver(encodeFirmwareVersionReport(report.sequence, this.firmware));
        this.#record({ level: 'debug', message: `firmware ${formatFirmwareVersion(this.firmware)}` });
        return;
      case 'send_frame':
        await this.#sendFrame(report);
    }
  }

  async #sendFrame(report: Extract<HassebOutReport, { kind: 'send_frame' }>): Promise<void> {
    const twice = report.sendTwiceIntervalMs > 0;
    let reply: BackwardResult = NO_ANSWER;
    // A lost frame on a send-twice command loses its first copy: the gear then take the second for a
    // first, and nothing happens, as on a real bus.
    const dropped = this.faults.strikes('dropFrame');
    for (let copy = 0; copy < (twice ? 2 : 1); copy++) {
      await this.#wait(copy === 0 ? FORWARD_FRAME_MS : report.sendTwiceIntervalMs + FORWARD_FRAME_MS);
      if (this.#state !== 'open') return;
      if (dropped && copy === 0) {
        this.#record({
          level: 'info',
          message: `fault: frame ${formatHex(report.frame)} lost on the line (dropFrame)`,
        });
        continue;
      }
      const result = this.bus.transmit(report.frame, this.#now());
      this.log.recordAll('bus', result.events);
      reply = result.reply;
    }
    if (!report.expectReply) return;
    reply = this.#replyFaults(reply, report.frame);
    if (this.faults.strikes('silent')) {
      this.#record({ level: 'info', message: `fault: no report for sequence ${report.sequence} (silent)` });
      return;
    }
    await this.#wait(BACKWARD_FRAME_MS, this.faults.faults.slowMs);
    if (this.#state !== 'open') return;
    if (this.faults.strikes('stale')) {
      // The previous response again, or one for the sequence number before this one if there was none.
      const stale =
        this.#lastResponse ??
        encodeResponseReport(report.sequence === 1 ? 255 : report.sequence - 1, NO_ANSWER);
      this.#record({
        level: 'info',
        message: `fault: stale report for sequence ${stale[2] ?? 0} first (stale)`,
      });
      this.#deliver(stale);
    }
    if (this.faults.strikes('idle')) this.#deliver(encodeNoDataReport());
    const response = encodeResponseReport(report.sequence, reply);
    this.#lastResponse = response;
    this.#deliver(response);
  }

  #replyFaults(reply: BackwardResult, frame: Buffer): BackwardResult {
    // parseOutReport always yields 2 bytes, which always decode.
    const what = describeForwardFrame(decodeForwardFrame(frame));
    if (reply.kind === 'answer' && this.faults.strikes('noAnswer')) {
      this.#record({ level: 'info', message: `fault: answer to ${what} lost (noAnswer)` });
      return NO_ANSWER;
    }
    if (reply.kind !== 'invalid_answer' && this.faults.strikes('invalidAnswer')) {
      this.#record({ level: 'info', message: `fault: answer to ${what} garbled (invalidAnswer)` });
      return INVALID_ANSWER;
    }
    return reply;
  }
}
