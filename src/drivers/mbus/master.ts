import { abortable } from '../shared/wait.js';
import { MbusError } from './codec/errors.js';
import {
  answerWindowMs,
  FrameAssembler,
  formatHex,
  LONG_START,
  MAX_FRAME_BYTES,
  parseFrame,
  wireTimeMs,
} from './codec/frames.js';
import {
  ADDRESS,
  formatSecondaryAddress,
  reqUd2,
  secondaryAddressFromBytes,
  selectSecondary,
  sndNke,
} from './codec/master.js';
import { decodeTelegram } from './codec/telegram.js';
import type { MbusTelegram } from './codec/types.js';
import type { ByteLink } from './serialLink.js';

// The M-Bus master: one request, one answer, on a half-duplex bus. It owns the timing rules (a meter
// must start answering within 330 bit times + 50 ms; a small margin covers converters), the retry and
// FCB rules (a repeat keeps the frame count bit so the meter resends its last telegram; a good answer
// toggles it so the meter moves on), multi-telegram readouts, and the skipping of a converter's echo.
// It does not serialise callers: the bus runtime runs one operation at a time.

export const DEFAULT_RETRIES = 3;
/** A readout longer than this is a meter stuck on "more records follow", not a real meter. */
export const MAX_TELEGRAMS = 16;
/** A timer this much past its time means the event loop was held up (timers are otherwise ~1 ms late). */
const LATE_TIMER_MS = 5;
/** Rechecks after late timers before a silence is believed anyway (a loop that never catches up). */
const MAX_LATE_CHECKS = 20;

/**
 * A pause inside a frame that, on a TCP converter, is the network's and not the meter's: TCP keeps
 * no character timing, and a lost segment is only resent after 200 ms at the least (libmbus waits
 * out 4 s per read there).
 */
export const NETWORK_PAUSE_MS = 500;

/** What a converter may add to the standard's window: USB latency timers, Ethernet converters' buffers. */
export const CONVERTER_MARGIN_MS = 30;

/**
 * How long a meter has to start its answer: EN 13757-2's 330 bit times + 50 ms, plus the converter's
 * margin (about 0.22 s at 2400 Bd). Every probe of a scan waits this out, so it sets the scan time.
 */
export function replyTimeoutMs(baud: number): number {
  return Math.ceil(answerWindowMs(baud).latest) + CONVERTER_MARGIN_MS;
}

export type MeterTarget = { primary: number } | { secondary: string };

export function describeTarget(target: MeterTarget): string {
  return 'primary' in target ? `primary address ${target.primary}` : `secondary address ${target.secondary}`;
}

/** What came back for one request. */
export type Reply =
  | { kind: 'frame'; bytes: Buffer }
  /** Nothing, or only bytes that did not make a valid frame (`garbled`: collisions, noise). */
  | { kind: 'none'; garbled: string | undefined };

/** Everything heard after one request. */
interface Heard {
  /** Whole, valid frames, in order. */
  frames: Buffer[];
  /** What was wrong with bytes that made no frame (collisions, noise, a cut-off answer). */
  garbled: string | undefined;
}

export interface Readout {
  telegrams: MbusTelegram[];
  /** The 16-digit secondary address the meter reported in its header. */
  secondary: string;
}

export class MbusMaster {
  readonly #assembler = new FrameAssembler();
  /** The frame count bit of the next new request, per meter. */
  readonly #fcb = new Map<string, boolean>();
  #waiter: (() => void) | undefined;
  /** When the last bytes were handed to us: gaps are judged by arrivals, not by when a timer ran. */
  #lastDataAt = 0;
  /** Chunks handed to us so far: a wait's timer tells by it whether bytes came meanwhile. */
  #arrivals = 0;

  readonly #retries: number;
  readonly #replyTimeoutMs: number;
  /** Silence inside an answer after which it is over. */
  readonly #interByteMs: number;
  /** Silence after part of a frame after which it is cut off: the gap on a serial port, longer on TCP. */
  readonly #inFramePauseMs: number;
  /** The wait after a late timer, for characters already in the port to come through. */
  readonly #drainMs: number;

  constructor(
    private readonly link: ByteLink,
    private readonly baud: number,
    options: { retries?: number | undefined; replyTimeoutMs?: number | undefined } = {},
  ) {
    this.#retries = options.retries ?? DEFAULT_RETRIES;
    this.#replyTimeoutMs = options.replyTimeoutMs ?? replyTimeoutMs(baud);
    this.#interByteMs = Math.max(50, Math.ceil(wireTimeMs(10, baud)));
    this.#inFramePauseMs =
      link.writeEndsOnWire === true ? this.#interByteMs : Math.max(this.#interByteMs, NETWORK_PAUSE_MS);
    // Long enough for the port to hand over what it holds (a read completes a loop turn or two later).
    this.#drainMs = Math.max(5, Math.ceil(wireTimeMs(2, baud)));
    link.onData((chunk) => {
      this.#lastDataAt = Date.now();
      this.#arrivals++;
      const starts = this.#assembler.pending === 0;
      this.#assembler.push(chunk);
      // The first bytes of an answer and a whole frame (or bytes that make none) end a wait at once.
      // The rest of an answer only moves its deadline, which the wait's timer reads when it runs: a
      // TCP converter at 2400 baud hands over a byte per packet, and waking per byte cost most of an
      // idle line's CPU.
      if (starts || this.#assembler.ready) this.#waiter?.();
    });
  }

  /** When bytes last came from the line (0: never): a TCP converter silent for long is checked. */
  get lastHeardAt(): number {
    return this.#lastDataAt;
  }

  /** Sends one frame and waits for one answer frame (or silence), skipping the echo of the request. */
  async transact(request: Buffer, signal: AbortSignal): Promise<Reply> {
    const { frames, garbled } = await this.#exchange(request, signal, false);
    const [frame] = frames;
    return frame === undefined ? { kind: 'none', garbled } : { kind: 'frame', bytes: frame };
  }

  /**
   * Sends one frame and collects what comes back: the first whole frame (`wholeWindow` false), or
   * everything until the meters' answer window has passed (true: an acknowledgement is only one if
   * nothing else follows it, since several meters may answer one after another).
   */
  async #exchange(request: Buffer, signal: AbortSignal, wholeWindow: boolean): Promise<Heard> {
    signal.throwIfAborted();
    // Port calls that never complete (a port closing under them) must not hold the bus lock forever:
    // the caller's signal ends the wait, whatever the link does.
    await abortable(this.link.discardInput(), signal);
    this.#assembler.clear();
    await abortable(this.link.write(request), signal);
    // The answer window opens when the request has left the line: now, if the write waited for that;
    // else (a TCP converter) once the converter has sent it at the baud rate.
    const onWireMs =
      this.link.writeEndsOnWire === true ? 0 : Math.ceil(wireTimeMs(request.length, this.baud));
    const firstByteBy = Date.now() + onWireMs + this.#replyTimeoutMs;
    const longestBy =
      firstByteBy +
      Math.ceil(wireTimeMs(MAX_FRAME_BYTES, this.baud)) +
      (this.#inFramePauseMs - this.#interByteMs);
    const frames: Buffer[] = [];
    let garbled: string | undefined;
    let lastByteAt: number | undefined;
    let graceUntil = 0;
    let lateChecks = 0;
    for (;;) {
      const next = this.#assembler.next();
      if (next instanceof MbusError) {
        garbled = next.message;
        continue;
      }
      if (next !== undefined) {
        if (frames.length === 0 && next.equals(request)) continue; // the level converter's echo of our frame
        try {
          parseFrame(next);
          frames.push(next);
          // After bytes that made no frame, an E5 or a short frame may be a piece of the same answer
          // (found among its data by resynchronising): the answer is over only once the line is
          // quiet, and a repeat sent sooner would go out while the meter is still talking.
          if (!wholeWindow && (garbled === undefined || next[0] === LONG_START)) return { frames, garbled };
        } catch (error) {
          if (!(error instanceof MbusError)) throw error;
          garbled = `${error.message} in ${formatHex(next)}`;
        }
        continue;
      }
      // Only the meters' bytes start an answer: a converter's echo, skipped above, leaves the meter
      // its whole window (an echo arriving after the drain would otherwise cut it to one gap).
      if (this.#assembler.pending > 0 || garbled !== undefined || frames.length > 0)
        lastByteAt ??= Date.now();
      else lastByteAt = undefined;
      // Once an answer has started it gets the time a whole frame needs on the wire, but a pause longer
      // than a few characters ends it (a collision's garbage has no length to wait for). Listening for
      // the whole window, a pause ends nothing before the window does: another meter may still start.
      // Over TCP, a frame begun (its start and length seen) may pause where the network held it up.
      const gapMs = this.#assembler.pending > 0 ? this.#inFramePauseMs : this.#interByteMs;
      let deadline: number;
      if (lastByteAt === undefined) deadline = firstByteBy;
      else if (wholeWindow) deadline = Math.min(longestBy, Math.max(firstByteBy, lastByteAt + gapMs));
      else deadline = Math.min(longestBy, lastByteAt + gapMs);
      const heard = await this.#waitForBytes(Math.max(deadline, graceUntil) - Date.now(), signal);
      if (heard === 'bytes') {
        lastByteAt = this.#lastDataAt;
        continue;
      }
      if (heard === 'late' && lateChecks++ < MAX_LATE_CHECKS) {
        // The timer ran late: the event loop was held up, and the port may hold characters it has not
        // handed over yet. A silence is only a silence once a wait ends on time with nothing new.
        graceUntil = Date.now() + this.#drainMs;
        continue;
      }
      if (this.#assembler.pending > 0) garbled ??= `incomplete frame (${this.#assembler.pending} bytes)`;
      return { frames, garbled };
    }
  }

  /** 'bytes' when some arrive; 'silence' when the wait ends on time; 'late' when its timer ran late. */
  #waitForBytes(ms: number, signal: AbortSignal): Promise<'bytes' | 'silence' | 'late'> {
    if (ms <= 0) return Promise.resolve('late');
    const due = performance.now() + ms;
    const arrivalsBefore = this.#arrivals;
    return new Promise((resolve, reject) => {
      const finish = (heard: 'bytes' | 'silence' | 'late') => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiter = undefined;
        resolve(heard);
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.#waiter = undefined;
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const timer = setTimeout(() => {
        if (this.#arrivals !== arrivalsBefore) finish('bytes');
        else finish(performance.now() - due > LATE_TIMER_MS ? 'late' : 'silence');
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiter = () => finish('bytes');
    });
  }

  /**
   * Sends a frame that a meter acknowledges with E5, with retries. Only a lone E5 in the whole answer
   * window is an acknowledgement: anything else heard in it (a second E5, a frame, bytes that make no
   * frame) means more than one meter talked, as libmbus reads it, or noise: 'collision' when no try
   * got a lone E5 and one at least got something else.
   */
  async expectAck(
    request: Buffer,
    signal: AbortSignal,
    tries = this.#retries,
  ): Promise<'ack' | 'none' | 'collision'> {
    let collided = false;
    for (let attempt = 0; attempt < tries; attempt++) {
      const { frames, garbled } = await this.#exchange(request, signal, true);
      const [first] = frames;
      if (frames.length === 1 && first?.length === 1 && garbled === undefined) return 'ack';
      // A bit error garbles one meter's E5 as two meters do; only two meters answer so every time.
      // (A scan asks once per probe: a garbled answer there only makes it look one digit deeper.)
      if (frames.length > 0 || garbled !== undefined) collided = true;
    }
    return collided ? 'collision' : 'none';
  }

  /** SND_NKE: resets the meter's link layer (and its FCB), and tells whether it is there. */
  async ping(
    address: number,
    signal: AbortSignal,
    tries = this.#retries,
  ): Promise<'ack' | 'none' | 'collision'> {
    const outcome = await this.expectAck(sndNke(address), signal, tries);
    if (outcome === 'ack') this.#fcb.delete(`p${address}`);
    return outcome;
  }

  /** Selects the meter(s) matching a (wildcard) secondary address. */
  select(
    secondary: string,
    signal: AbortSignal,
    tries = this.#retries,
  ): Promise<'ack' | 'none' | 'collision'> {
    return this.expectAck(selectSecondary(secondary), signal, tries);
  }

  /**
   * Reads all telegrams of one meter (REQ_UD2 until no "more records follow"). `alreadySelected`: the
   * caller's select just got this secondary address's lone E5, so the meter answers at FD already.
   */
  async read(target: MeterTarget, signal: AbortSignal, alreadySelected = false): Promise<Readout> {
    let address: number;
    let fcbKey: string;
    if ('primary' in target) {
      address = target.primary;
      fcbKey = `p${target.primary}`;
    } else {
      const selected = alreadySelected ? 'ack' : await this.select(target.secondary, signal);
      if (selected !== 'ack') {
        throw new Error(
          selected === 'collision'
            ? `more than one meter answers to secondary address ${target.secondary}`
            : `no meter answers to secondary address ${target.secondary}`,
        );
      }
      address = ADDRESS.NETWORK_LAYER;
      fcbKey = `s${target.secondary}`;
    }
    const telegrams: MbusTelegram[] = [];
    let secondary = '';
    for (;;) {
      // After the caller's (wildcard) select, one E5 can be several meters acknowledging in lockstep:
      // the first answer is only this meter's if nothing else is heard in the window (libmbus's probe).
      const alone = alreadySelected && telegrams.length === 0;
      const { telegram, bytes } = await this.#requestTelegram(address, fcbKey, target, signal, alone);
      if (telegrams.length === 0) secondary = headerSecondary(bytes, telegram);
      telegrams.push(telegram);
      if (!telegram.moreRecordsFollow) break;
      if (telegrams.length >= MAX_TELEGRAMS) {
        throw new Error(
          `${describeTarget(target)} sent ${MAX_TELEGRAMS} telegrams and still says more follow`,
        );
      }
    }
    return { telegrams, secondary };
  }

  async #requestTelegram(
    address: number,
    fcbKey: string,
    target: MeterTarget,
    signal: AbortSignal,
    alone: boolean,
  ): Promise<{ telegram: MbusTelegram; bytes: Buffer }> {
    // libmbus starts with FCB set; a repeat after a lost answer keeps it, so the meter repeats itself.
    const fcb = this.#fcb.get(fcbKey) ?? true;
    let lastProblem = 'no answer';
    for (let attempt = 0; attempt < this.#retries; attempt++) {
      const { frames, garbled } = await this.#exchange(reqUd2(address, fcb), signal, alone);
      const [frame] = frames;
      if (frame === undefined) {
        lastProblem = garbled === undefined ? 'no answer' : `garbled answer: ${garbled}`;
        continue;
      }
      // Asking again would get the same meters answering: not a repeat, a collision. Only the first
      // request tells: a repeat's window can hold the first answer come late (a stalled loop) as well.
      if (alone && attempt === 0 && (frames.length > 1 || garbled !== undefined)) {
        throw new Error(
          `more than one meter answers to ${describeTarget(target)} (${frames.length} frame(s)${garbled === undefined ? '' : `, ${garbled}`})`,
        );
      }
      try {
        const telegram = decodeTelegram(frame);
        this.#fcb.set(fcbKey, !fcb);
        return { telegram, bytes: frame };
      } catch (error) {
        if (!(error instanceof MbusError)) throw error;
        // The meter answered and said why it has no data: asking again will not change that.
        if (error.code === 'application_error') {
          this.#fcb.set(fcbKey, !fcb);
          throw new Error(`${describeTarget(target)} reports an application error: ${error.message}`);
        }
        lastProblem = `undecodable answer: ${error.message}`;
      }
    }
    throw new Error(
      `${describeTarget(target)} did not answer REQ_UD2 after ${this.#retries} tries (${lastProblem})`,
    );
  }
}

/** The secondary address in a variable-data header (the 8 bytes after CI); the id alone for others. */
function headerSecondary(bytes: Buffer, telegram: MbusTelegram): string {
  const frame = parseFrame(bytes);
  if (frame.kind === 'long' && telegram.ci === 0x72 && frame.data.length >= 8) {
    return formatSecondaryAddress(secondaryAddressFromBytes(frame.data.subarray(0, 8)));
  }
  return formatSecondaryAddress({
    id: telegram.slave.id.padStart(8, '0'),
    manufacturer: 0xffff,
    version: 0xff,
    medium: 0xff,
  });
}
