import type { JsonValue } from '../actors/driver.js';
import type { OutboxDraft, Persistence } from '../persistence/index.js';
import type { Topics } from './topics.js';

// Writes readings the way "loses no reading" needs them: each reading, its sequence number and the
// device's new retained state go to SQLite before anything is published. Readings that arrive in the
// same event-loop turn are committed together (group commit): a commit is the expensive part of a
// write, and a burst of 100 readings then costs one commit instead of 100. A reading waits at most
// one turn in memory, and nothing about it is published before its commit.

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

  constructor(persistence: Persistence, topics: Topics, afterCommit: () => void) {
    this.#persistence = persistence;
    this.#topics = topics;
    this.#afterCommit = afterCommit;
  }

  /** Queues a reading for the commit at the end of this event-loop turn. */
  add(deviceId: string, result: JsonValue, at: number): void {
    const values =
      result !== null && typeof result === 'object' && !Array.isArray(result) ? result : { value: result };
    this.#pending.push({ deviceId, values, at });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commits every queued reading in one transaction (also called on shutdown). */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    // With it go the pending device states and actor snapshots: one commit per burst, not two.
    this.#persistence.transactionWithPending(() => {
      const latest = new Map<string, number>();
      for (const { deviceId, values, at } of batch) {
        this.states.set(deviceId, { ...this.states.get(deviceId), ...values });
        latest.set(deviceId, at);
      }
      // A device's state message once per batch, after its readings: a retained state replaces the
      // unpublished one before it anyway, so earlier ones would only be written to be deleted.
      const states: OutboxDraft[] = [];
      for (const [deviceId, at] of latest) states.push(this.#stateMessage(deviceId, at));
      this.#persistence.enqueueReadings(
        batch.map(({ deviceId, at }) => ({ deviceId, topic: this.#topics.reading(deviceId), ts: at })),
        (index, seq) => {
          const { values, at } = batch[index] as PendingReading;
          return JSON.stringify({ seq, ts: isoTime(at), ...values });
        },
        states,
      );
    });
    this.#afterCommit();
  }

  /**
   * Merges values into a device's state, records it and queues the retained state message; call it
   * inside a transaction (the state change and its message commit together).
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
