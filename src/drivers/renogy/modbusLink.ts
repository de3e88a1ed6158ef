import type { GatewayClock } from '../../machines/clock.js';
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
// the caller drops it rather than trust the next answer.

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

  constructor(link: GattLink, pacing: Pacing, clock: GatewayClock) {
    this.#link = link;
    this.#pacing = pacing;
    this.#clock = clock;
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
  }

  /**
   * Sends `request` and resolves with its answer (an exception answer too: the caller decides whether
   * it is fatal). Rejects with a RenogyFailure, after which this session refuses every request.
   */
  async request(request: ModbusRequest, signal: AbortSignal): Promise<ModbusResponse> {
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
      this.#unusable = RenogyFailure.of(error);
      throw this.#unusable;
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
