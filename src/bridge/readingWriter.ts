import type { JsonValue } from '../drivers/contract.js';
import { getLogger, RepeatedFailureLog } from '../logging/index.js';
import type { OutboxDraft, Persistence } from '../persistence/index.js';
import type { DeviceEvents } from './deviceEvents.js';
import type { Topics } from './topics.js';
import { errorText } from '../errorText.js';

// Writes readings the way "loses no reading" needs them: each reading, its sequence number and the
// device's new retained state go to SQLite before anything is published. Readings are committed
// together (group commit): a commit is the expensive part of a write (~60 µs, most of it the WAL pages
// it writes), and a burst of 100 readings then costs one commit instead of 100. A trickle of readings
// (each commit would carry one or two anyway) is committed at the end of its event-loop turn: waiting
// would only add latency. Once a commit carried BUSY_BATCH readings or more, they come faster than
// that, and the next commit waits until GROUP_COMMIT_MS after it, so a flooded gateway commits a few
// hundred times a second, not once per turn (measured with `npm run bench`: the pipeline's commits
// carry 40-80 readings instead of 10, ~1.5 µs less CPU per message). A reading waits at most
// GROUP_COMMIT_MS in memory, and nothing about it is published before its commit.

/** The shortest time between two commits of readings while readings keep coming. */
export const GROUP_COMMIT_MS = 2;
/** A commit with this many readings means they come in bursts: the next one waits for its slot. */
export const BUSY_BATCH = 8;
/** After a failed commit (a full disk, say) the readings stay in memory and are tried again this often. */
export const COMMIT_RETRY_MS = 1_000;

type DeviceValues = Record<string, JsonValue>;

/** The ISO form of a time; a burst's readings mostly share their millisecond, so the last is kept. */
let lastTime = NaN;
let lastIso = '';
function isoTime(at: number): string {
  if (at !== lastTime) {
    lastIso = new Date(at).toISOString();
    lastTime = at;
  }
  return lastIso;
}

interface PendingReading {
  deviceId: string;
  values: DeviceValues;
  at: number;
}

export class ReadingWriter {
  /** The latest merged state of each device (what `<base>/<id>` says). */
  readonly states = new Map<string, DeviceValues>();
  readonly #persistence: Persistence;
  readonly #topics: Topics;
  readonly #afterCommit: () => void;
  #pending: PendingReading[] = [];
  #scheduled = false;
  /** performance.now() of the last commit, and how many readings it carried (see BUSY_BATCH). */
  #lastCommitAt = -Infinity;
  #lastBatch = 0;
  readonly #failures = new RepeatedFailureLog(getLogger('bridge'), {
    summary: 'still failing to save readings',
  });

  readonly #events: DeviceEvents | undefined;

  /** Without `events`, every value of a report is state (a bridge whose devices have no events). */
  constructor(persistence: Persistence, topics: Topics, afterCommit: () => void, events?: DeviceEvents) {
    this.#persistence = persistence;
    this.#topics = topics;
    this.#afterCommit = afterCommit;
    this.#events = events;
  }

  /**
   * Queues a reading for the next commit: at the end of this event-loop turn, or, while readings come
   * in bursts, GROUP_COMMIT_MS after the last commit if that is later.
   */
  add(deviceId: string, result: JsonValue, at: number): void {
    const values =
      result !== null && typeof result === 'object' && !Array.isArray(result) ? result : { value: result };
    this.#pending.push({ deviceId, values, at });
    if (this.#scheduled) return;
    this.#scheduled = true;
    const wait = this.#lastBatch >= BUSY_BATCH ? this.#lastCommitAt + GROUP_COMMIT_MS - performance.now() : 0;
    if (wait <= 0) setImmediate(this.#scheduledFlush);
    else setTimeout(this.#scheduledFlush, wait);
  }

  readonly #scheduledFlush = (): void => {
    // flush() may have run meanwhile (shutdown, or a caller that needs the readings committed now).
    if (this.#scheduled) this.flush();
  };

  /**
   * Commits every queued reading in one transaction (also called on shutdown). Returns false when the
   * commit failed: the readings stay queued, in order, and are tried again in COMMIT_RETRY_MS; the
   * failure is logged once per episode, never thrown (it would crash the gateway from a timer).
   */
  flush(): boolean {
    this.#scheduled = false;
    if (this.#pending.length === 0) return true;
    this.#lastCommitAt = performance.now();
    const batch = this.#pending;
    this.#lastBatch = batch.length;
    this.#pending = [];
    try {
      this.#commit(batch);
    } catch (error) {
      // Nothing of it was written (the transaction rolled back): in front of what came meanwhile.
      this.#pending = batch.concat(this.#pending);
      this.#failures.failure(
        'commit',
        `saving ${this.#pending.length} readings failed, kept in memory and tried again every ` +
          `${COMMIT_RETRY_MS / 1000} s: ${errorText(error)}`,
      );
      if (!this.#scheduled) {
        this.#scheduled = true;
        // Unref'd: a retry alone must not keep a stopping gateway alive.
        setTimeout(this.#scheduledFlush, COMMIT_RETRY_MS).unref();
      }
      return false;
    }
    this.#failures.success('commit', 'saving readings works again');
    this.#afterCommit();
    return true;
  }

  #commit(batch: readonly PendingReading[]): void {
    // With it go the pending device states and actor snapshots: one commit per burst, not two.
    this.#persistence.transactionWithPending(() => {
      const latest = new Map<string, number>();
      // The readings' events, in their order, before the states: each in the commit of its reading.
      const others: OutboxDraft[] = [];
      for (const { deviceId, values, at } of batch) {
        const { state, event } = this.#events?.split(deviceId, values) ?? { state: values };
        this.states.set(deviceId, { ...this.states.get(deviceId), ...state });
        if (event) others.push(event);
        latest.set(deviceId, at);
      }
      // A device's state message once per batch, after its readings: a retained state replaces the
      // unpublished one before it anyway, so earlier ones would only be written to be deleted.
      for (const [deviceId, at] of latest) others.push(this.#stateMessage(deviceId, at));
      this.#persistence.enqueueReadings(
        batch.map(({ deviceId, at }) => ({ deviceId, topic: this.#topics.reading(deviceId), ts: at })),
        (index, seq) => {
          const { values, at } = batch[index] as PendingReading;
          return JSON.stringify({ seq, ts: isoTime(at), ...values });
        },
        others,
      );
    });
  }

  /**
   * Merges values into a device's state, records it and queues the retained state message; call it
   * inside a transaction (the state change and its message commit together), after flush(): readings
   * still waiting for their commit came first, and merged after this their older values would win.
   */
  mergeState(deviceId: string, values: DeviceValues, at: number): void {
    this.states.set(deviceId, { ...this.states.get(deviceId), ...values });
    this.#saveState(deviceId, at);
  }

  #saveState(deviceId: string, at: number): void {
    this.#persistence.outbox.enqueue(this.#stateMessage(deviceId, at));
  }

  /** Records a device's current state and returns its retained state message. */
  #stateMessage(deviceId: string, at: number): OutboxDraft {
    const state = this.states.get(deviceId) ?? {};
    this.#persistence.states.save(deviceId, state, at);
    return {
      topic: this.#topics.device(deviceId),
      payload: JSON.stringify({ ...state, last_seen: isoTime(at) }),
      qos: 1,
      retain: true,
      kind: 'state',
    };
  }
}
