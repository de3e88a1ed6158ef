import { seededRandom } from '../../shared/random.js';
import { fail, hexByte } from '../codec/errors.js';
import { ACK, answerWindowMs, formatHex, type MbusFrame, parseFrame, wireTimeMs } from '../codec/frames.js';
import {
  ADDRESS,
  C_FIELD,
  CI_FIELD,
  formatSecondaryAddress,
  matchesSecondary,
  type SecondaryAddress,
  secondaryAddressFromBytes,
} from '../codec/master.js';
import { collide, corruptReply, describeFaults, type Faults, mergeFaults, NO_FAULTS } from './faults.js';
import { onTheLine } from './onTheLine.js';
import { type MeterSpec, meterRecords, secondaryAddressOf } from './meters.js';
import { encodeRecord, encodeRspUd, splitTelegrams } from './telegram.js';
import { errorText } from '../../../errorText.js';

// The slave side of a whole M-Bus segment: every meter on it, as one pure state machine. It takes the
// bytes of one frame from the master and the time, and returns what the line carries back (one answer,
// several answers colliding, or nothing) and when it starts and ends. No I/O and no clock
// of its own, so the protocol is tested without a serial port and replays exactly under a seed.

export interface BusOptions {
  meters: readonly MeterSpec[];
  /** When the counters started (epoch ms): a counter is start + rate × hours since then. */
  startedAt: number;
  /** Seed of every random choice (faults, collisions, initial access numbers). */
  seed?: number;
  /** Nominal line speed; sets the simulated time on the wire. Default 2400. */
  baud?: number;
  /** Answer at once, without the time on the wire (the faults' extra delay still applies). */
  fast?: boolean;
  /** The meter's pause between the end of the request and its answer. Default 10 ms. */
  turnaroundMs?: number;
  faults?: Partial<Faults>;
  /**
   * Each meter answers after its own delay, drawn (seeded) across the whole window the standard permits
   * (11 bit times to 330 bit times + 50 ms): a wildcard select then gets E5s one after another, or
   * overlapping where two delays are close, as on a real bus. Off: every meter after `turnaroundMs`, and
   * several answers always overlap into garbage.
   */
  spreadAnswers?: boolean;
  /** The latest start of a spread answer (ms after the request); default the standard's. */
  answerWindowMs?: number;
}

export interface SimEvent {
  /** `info`: worth a log line always (faults, selection, address changes); `debug`: every exchange. */
  level: 'info' | 'debug';
  message: string;
}

export interface BusAnswer {
  bytes: Buffer;
  /** When the first byte starts, counted from the request's arrival: turnaround plus the slow fault. */
  delayMs: number;
  /** How long the bytes take on the wire at the baud rate (0 when fast): the last ends this much later. */
  wireMs: number;
}

export interface BusResult {
  /** The first (or only) thing on the line: `answers[0]`. */
  answer?: BusAnswer;
  /** Everything on the line, in order: answers that overlapped are one garbled answer. */
  answers: BusAnswer[];
  events: SimEvent[];
}

/** One meter on the bus: its identity and its link-layer state. */
export interface MeterState {
  readonly spec: MeterSpec;
  readonly secondary: SecondaryAddress;
  /** Current primary address (SND_UD CI 51 changes it). */
  address: number;
  /** A dead meter neither answers nor listens, as if disconnected from the bus. */
  alive: boolean;
  /** Selected by secondary address: it answers at address FD. */
  selected: boolean;
  /** FCB of the last REQ_UD2, undefined after a reset (the next request is new whatever its FCB). */
  fcb: boolean | undefined;
  /** The telegram a new (toggled) request gets, 0-based. */
  nextTelegram: number;
  accessNumber: number;
  /** The last RSP_UD, sent again when the master repeats a request with the same FCB. */
  lastReply: Buffer | undefined;
  /** When it starts answering after a request (ms), without the per-answer jitter. */
  readonly answerDelayMs: number;
}

/** C field without FCB and FCV: the function code. */
const FUNCTION_MASK = ~(C_FIELD.FCB | C_FIELD.FCV) & 0xff;
const SND_NKE = C_FIELD.SND_NKE;
const SND_UD = C_FIELD.SND_UD & FUNCTION_MASK;
const REQ_UD2 = C_FIELD.REQ_UD2 & FUNCTION_MASK;
const REQ_UD1 = C_FIELD.REQ_UD1 & FUNCTION_MASK;

export function describeMeter(meter: MeterState): string {
  const { spec } = meter;
  return `meter ${meter.address} (${spec.id} ${spec.manufacturer} ${spec.medium})`;
}

function result(answers: BusAnswer[], events: SimEvent[]): BusResult {
  return { answer: answers[0], answers, events };
}

function resetLink(meter: MeterState): void {
  meter.fcb = undefined;
  meter.nextTelegram = 0;
  meter.lastReply = undefined;
}

export class MbusBus {
  readonly meters: MeterState[];
  readonly baud: number;
  readonly fast: boolean;
  readonly turnaroundMs: number;
  readonly startedAt: number;
  readonly spreadAnswers: boolean;
  readonly #random: () => number;
  readonly #answerWindow: { earliest: number; latest: number };
  #faults: Faults;

  constructor(options: BusOptions) {
    this.#random = seededRandom(options.seed ?? 1);
    this.baud = options.baud ?? 2400;
    if (!Number.isInteger(this.baud) || this.baud < 300 || this.baud > 38_400) {
      fail('bad_argument', `baud must be a whole number 300-38400, got ${this.baud}`);
    }
    this.fast = options.fast ?? false;
    this.turnaroundMs = options.turnaroundMs ?? 10;
    this.startedAt = options.startedAt;
    this.#faults = mergeFaults(NO_FAULTS, options.faults ?? {});
    this.spreadAnswers = options.spreadAnswers ?? false;
    const window = answerWindowMs(this.baud);
    this.#answerWindow = { earliest: window.earliest, latest: options.answerWindowMs ?? window.latest };
    // Drawn after the access numbers below would shift every seeded run: drawn first, and only if asked.
    const delays = options.meters.map((spec) => this.#drawAnswerDelay(spec));
    this.meters = options.meters.map((spec, index) => this.#newMeter(spec, delays[index]!));
  }

  /**
   * Makes the segment carry exactly these meters (the in-process line after a config change): a meter
   * already there (same id and starting address) keeps its link state, address and aliveness.
   */
  setMeters(specs: readonly MeterSpec[]): void {
    const next = specs.map((spec) => {
      const same = this.meters.find(
        (meter) => meter.spec.id === spec.id && meter.spec.address === spec.address,
      );
      return same ? { ...same, spec } : this.#newMeter(spec, this.#drawAnswerDelay(spec));
    });
    this.meters.splice(0, this.meters.length, ...next);
  }

  /** When a meter starts answering: its own delay, the bus's turnaround, or anywhere in the window. */
  #drawAnswerDelay(spec: MeterSpec): number {
    if (spec.answerDelayMs !== undefined) return spec.answerDelayMs;
    if (!this.spreadAnswers) return this.fast ? 0 : this.turnaroundMs;
    // The whole answer window; a meter's answer must also end before the window's latest start.
    const { earliest, latest } = this.#answerWindow;
    return earliest + this.#random() * Math.max(0, latest - earliest);
  }

  #newMeter(spec: MeterSpec, answerDelayMs: number): MeterState {
    return {
      spec,
      secondary: secondaryAddressOf(spec),
      address: spec.address,
      alive: true,
      selected: false,
      fcb: undefined,
      nextTelegram: 0,
      // Real meters start anywhere; seeded so a replay gets the same numbers.
      accessNumber: Math.floor(this.#random() * 256),
      lastReply: undefined,
      answerDelayMs,
    };
  }

  get faults(): Faults {
    return { ...this.#faults };
  }

  setFaults(update: Partial<Faults>): Faults {
    this.#faults = mergeFaults(this.#faults, update);
    return this.faults;
  }

  /** A meter by current primary address (a number or digits up to 3 long) or by its 8-digit id. */
  findMeter(key: number | string): MeterState | undefined {
    const text = String(key).trim();
    if (/^\d{8}$/.test(text)) return this.meters.find((meter) => meter.spec.id === text);
    if (/^\d{1,3}$/.test(text)) return this.meters.find((meter) => meter.address === Number(text));
    return undefined;
  }

  /** The number of telegrams a full readout of `meter` takes. */
  telegramCount(meter: MeterState): number {
    return this.#telegrams(meter, this.startedAt).length;
  }

  /** Handles one frame from the master, received at `nowMs`. */
  handle(request: Uint8Array, nowMs: number): BusResult {
    const events: SimEvent[] = [];
    let frame: MbusFrame;
    try {
      frame = parseFrame(request);
    } catch (error) {
      const reason = errorText(error);
      events.push({ level: 'info', message: `ignored a garbled request (${reason}): ${formatHex(request)}` });
      return result([], events);
    }
    const replies = this.#dispatch(frame, nowMs, events);
    if (replies.length === 0 || (frame.kind !== 'ack' && frame.a === ADDRESS.BROADCAST)) {
      return { answers: [], events };
    }
    if (replies.length > 1 && this.spreadAnswers) {
      const who = replies.map((reply) => reply.meter.address).join(', ');
      events.push({ level: 'info', message: `${replies.length} meters answered (addresses ${who})` });
      const sent = replies.flatMap((reply) => {
        const answer = this.#withFaults(reply, events);
        return answer === undefined ? [] : [answer];
      });
      return result(onTheLine(sent, this.baud, this.fast), events);
    }
    if (replies.length > 1) {
      const who = replies.map((reply) => reply.meter.address).join(', ');
      events.push({
        level: 'info',
        message: `collision: ${replies.length} meters answered (addresses ${who})`,
      });
      const garbled = collide(
        replies.map((reply) => reply.bytes),
        this.#random,
      );
      return result([this.#schedule(garbled, this.fast ? 0 : this.turnaroundMs)], events);
    }
    const [reply] = replies;
    const answer = reply === undefined ? undefined : this.#withFaults(reply, events);
    return result(answer === undefined ? [] : [answer], events);
  }

  #withFaults(reply: { meter: MeterState; bytes: Buffer }, events: SimEvent[]): BusAnswer | undefined {
    const { corrupt } = this.#faults;
    const noAnswer = Math.max(this.#faults.noAnswer, reply.meter.spec.lossRate ?? 0);
    // Draw only for active faults, so switching one on does not shift the sequence of another.
    if (noAnswer > 0 && this.#random() < noAnswer) {
      events.push({
        level: 'info',
        message: `fault: ${describeMeter(reply.meter)} reply dropped (noanswer)`,
      });
      return undefined;
    }
    let bytes = reply.bytes;
    if (corrupt > 0 && this.#random() < corrupt) {
      bytes = corruptReply(bytes, this.#random);
      events.push({
        level: 'info',
        message: `fault: ${describeMeter(reply.meter)} reply corrupted (corrupt)`,
      });
    }
    let delay = reply.meter.answerDelayMs;
    // A meter's reaction time wanders by a few bit times from one answer to the next.
    if (this.spreadAnswers) delay += (this.#random() * 3 * 1000) / this.baud;
    return this.#schedule(bytes, delay);
  }

  #schedule(bytes: Buffer, delayMs: number): BusAnswer {
    const wireMs = this.fast ? 0 : wireTimeMs(bytes.length, this.baud);
    return { bytes, delayMs: delayMs + this.#faults.slowMs, wireMs };
  }

  /** The meters a frame to `address` reaches: dead meters hear nothing. */
  #targets(address: number): MeterState[] {
    const alive = this.meters.filter((meter) => meter.alive);
    if (address === ADDRESS.BROADCAST || address === ADDRESS.BROADCAST_REPLY) return alive;
    if (address === ADDRESS.NETWORK_LAYER) return alive.filter((meter) => meter.selected);
    return alive.filter((meter) => meter.address === address);
  }

  #dispatch(frame: MbusFrame, nowMs: number, events: SimEvent[]): { meter: MeterState; bytes: Buffer }[] {
    if (frame.kind === 'ack') {
      events.push({ level: 'debug', message: 'ignored an E5 from the master' });
      return [];
    }
    const ack = (meter: MeterState) => ({ meter, bytes: Buffer.from([ACK]) });
    const code = frame.c & FUNCTION_MASK;
    const targets = this.#targets(frame.a);
    const to = `${frame.kind} frame C=${hexByte(frame.c)} A=${hexByte(frame.a)}`;
    if (frame.kind === 'short' && code === SND_NKE) {
      for (const meter of targets) {
        resetLink(meter);
        // SND_NKE to FD ends the selection: the meter stops answering at FD.
        if (frame.a === ADDRESS.NETWORK_LAYER) meter.selected = false;
      }
      events.push({ level: 'debug', message: `SND_NKE to ${hexByte(frame.a)}: ${targets.length} meter(s)` });
      return targets.map(ack);
    }
    if (frame.kind === 'short' && code === REQ_UD2) {
      const fcv = (frame.c & C_FIELD.FCV) !== 0;
      const fcb = (frame.c & C_FIELD.FCB) !== 0;
      return targets.map((meter) => ({ meter, bytes: this.#readout(meter, fcv, fcb, nowMs, events) }));
    }
    if (frame.kind === 'short' && code === REQ_UD1) return targets.map(ack); // no alarm data: E5
    if (frame.kind === 'short' || code !== SND_UD) {
      events.push({ level: 'debug', message: `ignored ${to}: not a function the meters know` });
      return [];
    }
    const data = frame.kind === 'long' ? frame.data : Buffer.alloc(0);
    switch (frame.ci) {
      case CI_FIELD.SELECT_SECONDARY:
        return this.#select(frame.a, data, events).map(ack);
      case CI_FIELD.DATA_SEND:
        return this.#dataSend(targets, data, events).map(ack);
      case CI_FIELD.APPLICATION_RESET:
        for (const meter of targets) {
          resetLink(meter);
          events.push({ level: 'info', message: `${describeMeter(meter)}: application reset` });
        }
        return targets.map(ack);
      default:
        events.push({ level: 'debug', message: `ignored ${to}: CI ${hexByte(frame.ci)} is not supported` });
        return [];
    }
  }

  #select(address: number, data: Buffer, events: SimEvent[]): MeterState[] {
    if (address !== ADDRESS.NETWORK_LAYER || data.length !== 8) {
      events.push({
        level: 'info',
        message: `ignored a select to ${hexByte(address)} with ${data.length} bytes`,
      });
      return [];
    }
    const pattern = secondaryAddressFromBytes(data);
    const matched: MeterState[] = [];
    for (const meter of this.meters) {
      if (!meter.alive) continue;
      // Every meter that hears a select takes part: the ones that do not match are deselected.
      meter.selected = matchesSecondary(meter.secondary, pattern);
      if (meter.selected) matched.push(meter);
    }
    const which = matched.length === 0 ? 'no meter' : matched.map(describeMeter).join(', ');
    events.push({ level: 'info', message: `select ${formatSecondaryAddress(pattern)}: ${which}` });
    return matched;
  }

  #dataSend(targets: MeterState[], data: Buffer, events: SimEvent[]): MeterState[] {
    const isSetAddress = data.length === 3 && data[0] === 0x01 && data[1] === 0x7a;
    if (!isSetAddress) {
      // A meter acknowledges data it does not use, as real ones do; the log says it was not understood.
      events.push({ level: 'info', message: `data ${formatHex(data)} acknowledged but not understood` });
      return targets;
    }
    const next = data[2] ?? 0;
    if (next > ADDRESS.MAX_PRIMARY) {
      events.push({ level: 'info', message: `refused primary address ${next} (must be 0-250): no answer` });
      return [];
    }
    for (const meter of targets) {
      events.push({
        level: 'info',
        message: `${describeMeter(meter)}: primary address ${meter.address} → ${next}`,
      });
      meter.address = next;
      // The stored reply carries the old address; a repeat must not resend it.
      resetLink(meter);
    }
    return targets;
  }

  #telegrams(meter: MeterState, nowMs: number): Buffer[][] {
    const records = meterRecords(meter.spec, nowMs - this.startedAt, nowMs).map(encodeRecord);
    return splitTelegrams(records, meter.spec.recordsPerTelegram);
  }

  #readout(meter: MeterState, fcv: boolean, fcb: boolean, nowMs: number, events: SimEvent[]): Buffer {
    if (fcv && meter.fcb === fcb && meter.lastReply !== undefined) {
      // Same FCB as last time: the master lost our reply and asks again; it gets the same telegram.
      events.push({ level: 'debug', message: `${describeMeter(meter)}: repeated telegram (FCB unchanged)` });
      return meter.lastReply;
    }
    const telegrams = this.#telegrams(meter, nowMs);
    const index = meter.nextTelegram < telegrams.length ? meter.nextTelegram : 0;
    const more = index < telegrams.length - 1;
    meter.accessNumber = (meter.accessNumber + 1) & 0xff;
    const header = { address: meter.secondary, accessNumber: meter.accessNumber, status: 0 };
    const bytes = encodeRspUd(meter.address, header, telegrams[index] ?? [], more);
    meter.nextTelegram = more ? index + 1 : 0;
    meter.fcb = fcv ? fcb : undefined;
    meter.lastReply = bytes;
    events.push({
      level: 'debug',
      message: `${describeMeter(meter)}: RSP_UD telegram ${index + 1}/${telegrams.length}, access ${meter.accessNumber}`,
    });
    return bytes;
  }

  /** One line per meter, and the faults: what `status` prints. */
  describe(): string[] {
    return [
      `faults: ${describeFaults(this.#faults)}; ${this.baud} Bd${this.fast ? ' (fast)' : ''}`,
      ...this.meters.map((meter) => {
        const flags = [meter.alive ? 'alive' : 'dead', ...(meter.selected ? ['selected'] : [])].join(', ');
        const telegrams = this.telegramCount(meter);
        return `${describeMeter(meter)} secondary ${formatSecondaryAddress(meter.secondary)}, ${telegrams} telegram(s), ${flags}`;
      }),
    ];
  }
}
