import type { GatewayClock } from '../../machines/clock.js';
import { errorText } from '../../errorText.js';
import {
  encodeRequest,
  type ModbusRequest,
  type ModbusResponse,
  NOTIFY_CHARACTERISTIC,
  type Pacing,
  ResponseAssembler,
  WRITE_CHARACTERISTIC,
} from './codec/index.js';
import type { GattLink } from './bluez.js';
import { RenogyFailure } from './failures.js';

// Modbus over one GATT link (notes §2-§3): one request at a time, written without response to ffd1,
// its answer reassembled from the notifications of fff1, paced (a gap after every answer). A response
// carries no register address, so any failure (bad CRC, another device's id, a late answer to an
// earlier request, a timeout) leaves the link out of step: the session is unusable from then on and
// the caller drops it rather than trust the next answer. One exception, as renogy-ble makes it for an
// inverter's main read: a request allowed more than one attempt is sent again after a timeout (the
// same request: a late answer to the first attempt is an answer to it too, and a second copy after it
// is a stray that voids the session as any is). An inverter also has its ffd4 read once after the
// settle time, before any request (§4.5).

/** Waits `ms` on the gateway's clock; rejects when `signal` fires. */
export function sleep(clock: GatewayClock, ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return signal.aborted ? Promise.reject(abortReason(signal)) : Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Why `signal` fired, as an Error. */
export const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error('aborted');

export class ModbusLink {
  readonly #link: GattLink;
  readonly #pacing: Pacing;
  readonly #clock: GatewayClock;
  /** When the last answer ended, for the pause before the next request. */
  #lastAnswerAt: number | undefined;
  #unusable: RenogyFailure | undefined;
  /** Where the notifications go while a request waits for its answer; none: they are strays. */
  #pending: ((piece: Uint8Array) => void) | undefined;
  #stopListening: (() => void) | undefined;

  readonly #note: (message: string) => void;

  /** `note`: what the session may want in its debug log (an init read that failed and was let be). */
  constructor(link: GattLink, pacing: Pacing, clock: GatewayClock, note: (message: string) => void) {
    this.#link = link;
    this.#pacing = pacing;
    this.#clock = clock;
    this.#note = note;
  }

  /** Subscribes to the answers' characteristic (before the first request). */
  async start(signal: AbortSignal): Promise<void> {
    // Listening from before StartNotify to the end: bytes while no request waits (a late or repeated
    // answer) put the session out of step, whenever they come.
    this.#stopListening = this.#link.onNotification((notification) => {
      if (notification.pair.characteristic !== NOTIFY_CHARACTERISTIC.characteristic) return;
      if (this.#pending) this.#pending(notification.value);
      else this.#stray(notification.value);
    });
    await this.#link.startNotify(NOTIFY_CHARACTERISTIC, signal);
    await sleep(this.#clock, this.#pacing.settleAfterConnectMs, signal);
    const init = this.#pacing.initReadCharacteristic;
    if (init !== undefined) await this.#initRead(init, signal);
  }

  /**
   * ReadValue of `characteristic` (under whichever service has it readable), bounded by the answer
   * timeout. Its failure is let be, as renogy-ble lets it (a device that needed it then answers no
   * request, which fails the session by name); a link that ended with it is not.
   */
  async #initRead(characteristic: string, signal: AbortSignal): Promise<void> {
    const [pair] = this.#link.pairsWithCharacteristic(characteristic, 'read');
    if (pair === undefined) {
      this.#note(`no readable ${characteristic}: the requests go without the init read`);
      return;
    }
    try {
      await this.#link.read(pair, { signal, timeoutMs: this.#pacing.responseTimeoutMs });
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      if (this.#link.closed) throw RenogyFailure.of(error);
      this.#note(`the init read of ${characteristic} failed, the requests go on: ${errorText(error)}`);
    }
  }

  /**
   * Sends `request` and resolves with its answer (an exception answer too: the caller decides whether
   * it is fatal); sent up to `attempts` times while no answer comes in time. Rejects with a
   * RenogyFailure, after which this session refuses every request.
   */
  async request(request: ModbusRequest, signal: AbortSignal, attempts = 1): Promise<ModbusResponse> {
    for (let attempt = 1; ; attempt += 1) {
      if (this.#unusable) throw this.#unusable;
      if (this.#lastAnswerAt !== undefined) {
        const wait = this.#lastAnswerAt + this.#pacing.requestGapMs - this.#clock.now();
        await sleep(this.#clock, wait, signal);
        // Bytes nobody asked for may have come during the pause.
        if (this.#unusable) throw this.#unusable;
      }
      try {
        const response = await this.#exchange(request, signal);
        this.#lastAnswerAt = this.#clock.now();
        return response;
      } catch (error) {
        const failure = RenogyFailure.of(error);
        if (failure.kind === 'no_answer' && attempt < attempts && !this.#link.closed && !signal.aborted) {
          this.#note(`${failure.message}; sending it again (attempt ${attempt + 1} of ${attempts})`);
          // The pause before the next request counts from the timeout.
          this.#lastAnswerAt = this.#clock.now();
          continue;
        }
        this.#unusable = failure;
        throw failure;
      }
    }
  }

  /**
   * The end of a session's requests: throws when bytes came that no request asked for (the answers
   * taken may have been stale copies), so the reading is not trusted.
   */
  finish(): void {
    this.#stopListening?.();
    if (this.#unusable) throw this.#unusable;
  }

  #stray(piece: Uint8Array): void {
    this.#unusable ??= new RenogyFailure(
      'stale_session',
      `${piece.length} bytes no request asked for (${Buffer.from(piece).toString('hex')}): a late or repeated answer`,
    );
  }

  async #exchange(request: ModbusRequest, signal: AbortSignal): Promise<ModbusResponse> {
    const assembler = new ResponseAssembler(request);
    let settle: (() => void) | undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    this.#pending = (piece) => {
      if (assembler.push(piece).status === 'incomplete') return;
      // Settled: what comes next is no answer to this request.
      this.#pending = undefined;
      settle?.();
    };
    const stop = () => (this.#pending = undefined);
    const stopLost = this.#link.onLost(() => settle?.());
    const onAbort = () => settle?.();
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = this.#clock.setTimeout(() => {
      assembler.expire();
      settle?.();
    }, this.#pacing.responseTimeoutMs);
    try {
      await this.#link.write(WRITE_CHARACTERISTIC, encodeRequest(request), {
        withoutResponse: true,
        signal,
      });
      await settled;
    } finally {
      this.#clock.clearTimeout(timer);
      stop();
      stopLost();
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) throw abortReason(signal);
    if (this.#link.closed && assembler.result.status === 'incomplete') {
      throw RenogyFailure.of(this.#link.endedBy ?? new Error('the link dropped during a request'));
    }
    const result = assembler.result;
    if (result.status === 'complete') return result.response;
    if (result.status === 'failed') throw RenogyFailure.frame(result.problem);
    throw new RenogyFailure('no_answer', 'the answer did not complete');
  }
}
