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

const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error('aborted');

export class ModbusLink {
  readonly #link: GattLink;
  readonly #pacing: Pacing;
  readonly #clock: GatewayClock;
  /** When the last answer ended, for the pause before the next request. */
  #lastAnswerAt: number | undefined;
  #unusable: RenogyFailure | undefined;

  constructor(link: GattLink, pacing: Pacing, clock: GatewayClock) {
    this.#link = link;
    this.#pacing = pacing;
    this.#clock = clock;
  }

  /** Subscribes to the answers' characteristic (before the first request). */
  async start(signal: AbortSignal): Promise<void> {
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

  async #exchange(request: ModbusRequest, signal: AbortSignal): Promise<ModbusResponse> {
    const assembler = new ResponseAssembler(request);
    let settle: (() => void) | undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const stop = this.#link.onNotification((notification) => {
      if (notification.pair.characteristic !== NOTIFY_CHARACTERISTIC.characteristic) return;
      if (assembler.push(notification.value).status !== 'incomplete') settle?.();
    });
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
