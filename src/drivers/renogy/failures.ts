import { errorText } from '../../errorText.js';
import type { FrameProblem } from './codec/index.js';
import { GattFailure, type GattFailureKind } from './bluez.js';

// Every way reading a Renogy device fails, by name, for the logs, the device's last error and the
// recovery ladder: the connected-BLE failures (connect aborted, InProgress, a hung connect, services
// or characteristics missing after a reconnect, the device held by another central) and the Modbus
// ones (garbage, a late answer that puts the session out of step, no answer at all), and a Smart Shunt
// that streams nothing live or nothing believable.

export type RenogyFailureKind =
  | GattFailureKind
  /** The write or notify characteristic is not there (BlueZ's cache lost them after a reconnect). */
  | 'missing_characteristics'
  /** A well-formed answer to another request arrived (late): the session is out of step. */
  | 'stale_session'
  /** Bytes that are no answer to the request: bad CRC, another id, no Modbus function, noise after it. */
  | 'garbage_answer'
  /** No complete answer in time (nothing, or notifications lost mid-frame). */
  | 'no_answer'
  /** The device refused a read every poll needs with a Modbus exception. */
  | 'exception'
  /** A Smart Shunt sent no live frame in time after its notifications were started (silent, or history only). */
  | 'no_live_frame'
  /** A Smart Shunt streamed live frames, but every one had a value no battery monitor reads (noise). */
  | 'implausible_frame';

export class RenogyFailure extends Error {
  override readonly name = 'RenogyFailure';
  constructor(
    readonly kind: RenogyFailureKind,
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }

  static of(error: unknown): RenogyFailure {
    if (error instanceof RenogyFailure) return error;
    if (error instanceof GattFailure) {
      const kind = error.kind === 'services_missing' ? 'missing_characteristics' : error.kind;
      return new RenogyFailure(kind, error.message);
    }
    return new RenogyFailure('failed', errorText(error));
  }

  static frame(problem: FrameProblem): RenogyFailure {
    const kind: RenogyFailureKind =
      problem.kind === 'timeout'
        ? 'no_answer'
        : problem.kind === 'session_unusable'
          ? 'stale_session'
          : 'garbage_answer';
    const received = problem.received.length > 0 ? ` (got ${problem.received.toString('hex')})` : '';
    return new RenogyFailure(kind, `${problem.kind}: ${problem.message}${received}`);
  }
}
