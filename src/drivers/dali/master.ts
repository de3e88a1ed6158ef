import {
  type BackwardResult,
  checkFirmwareVersion,
  type DaliCommand,
  DaliError,
  encodeFirmwareVersionRequest,
  encodeSendFrame,
  type FirmwareVersion,
  type HassebInReport,
  parseInReport,
  SequenceCounter,
} from './codec/index.js';
import type { HidTransport } from './hidTransport.js';

// The DALI master on a hasseb adapter: one forward frame at a time, answers matched to requests by the
// report's sequence number, so a late answer to an earlier query (a slow adapter, a retry) can never be
// taken for the answer to this one. Commands get no confirmation from the adapter; queries get an
// answer, "no answer" or "invalid answer" (a collision), which are distinct results. The runtime
// serialises callers.

/** A query's answer comes within a few DALI frame times; the adapter's USB polling adds some more. */
export const QUERY_TIMEOUT_MS = 500;
const FIRMWARE_TIMEOUT_MS = 1_000;

export class DaliMaster {
  readonly #sequence = new SequenceCounter();
  #waiter: { sequence: number; resolve: (report: HassebInReport) => void } | undefined;
  /** Reports that could not be parsed, for the runtime's failure count. */
  garbledReports = 0;

  constructor(
    private readonly transport: HidTransport,
    private readonly queryTimeoutMs = QUERY_TIMEOUT_MS,
  ) {
    transport.onReport((bytes) => {
      let report: HassebInReport;
      try {
        report = parseInReport(bytes);
      } catch (error) {
        if (!(error instanceof DaliError)) throw error;
        this.garbledReports++;
        return;
      }
      if (report.kind === 'no_data') return; // the adapter's idle poll answer
      const waiter = this.#waiter;
      // Sniffed traffic (sequence 0) and stale answers to earlier requests are dropped here.
      if (waiter && report.sequence === waiter.sequence) {
        this.#waiter = undefined;
        waiter.resolve(report);
      }
    });
  }

  /** Asks the adapter for its firmware version; rejects naming the version when it is too old. */
  async checkFirmware(signal: AbortSignal): Promise<FirmwareVersion> {
    const sequence = this.#sequence.next();
    const report = await this.#exchange(
      encodeFirmwareVersionRequest(sequence),
      sequence,
      FIRMWARE_TIMEOUT_MS,
      signal,
    );
    if (report === undefined)
      throw new Error('the DALI adapter did not say its firmware version (is it a hasseb DALI Master?)');
    if (report.kind !== 'firmware')
      throw new Error('the DALI adapter answered the firmware query with something else');
    checkFirmwareVersion(report.version);
    return report.version;
  }

  /** Sends a command (no answer expected) or a query (resolves with what came back). */
  async send(command: DaliCommand, signal: AbortSignal): Promise<BackwardResult> {
    const sequence = this.#sequence.next();
    const report = encodeSendFrame(command, sequence);
    if (!command.isQuery) {
      signal.throwIfAborted();
      await this.transport.write(report);
      return { kind: 'no_answer' };
    }
    const answer = await this.#exchange(report, sequence, this.queryTimeoutMs, signal);
    if (answer === undefined) return { kind: 'no_answer' };
    if (answer.kind !== 'response') throw new Error(`unexpected ${answer.kind} report for ${command.name}`);
    return answer.reply;
  }

  async #exchange(
    report: Buffer,
    sequence: number,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<HassebInReport | undefined> {
    signal.throwIfAborted();
    let settle: (result: HassebInReport | undefined) => void = () => undefined;
    const answered = new Promise<HassebInReport | undefined>((resolve, reject) => {
      const timer = setTimeout(() => settle(undefined), timeoutMs);
      const onAbort = () => {
        clearTimeout(timer);
        if (this.#waiter?.sequence === sequence) this.#waiter = undefined;
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      settle = (result) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        if (this.#waiter?.sequence === sequence) this.#waiter = undefined;
        resolve(result);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiter = { sequence, resolve: (result) => settle(result) };
    });
    try {
      await this.transport.write(report);
    } catch (error) {
      settle(undefined);
      throw error;
    }
    return answered;
  }
}
