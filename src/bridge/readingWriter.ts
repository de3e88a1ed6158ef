import type { JsonValue } from '../actors/driver.js';
import type { Persistence } from '../persistence/index.js';
import type { Topics } from './topics.js';

// Writes readings the way "loses no reading" needs them: each reading, its sequence number and the
// device's new retained state go to SQLite before anything is published. Readings that arrive in the
// same event-loop turn are committed together (group commit): a commit is the expensive part of a
// write, and a burst of 100 readings then costs one commit instead of 100. A reading waits at most
// one turn in memory, and nothing about it is published before its commit.

type DeviceValues = Record<string, JsonValue>;

export class ReadingWriter {
  /** The latest merged state of each device (what `<base>/<id>` says). */
  readonly states = new Map<string, DeviceValues>();
  readonly #persistence: Persistence;
  readonly #topics: Topics;
  readonly #afterCommit: () => void;
  #pending: { deviceId: string; values: DeviceValues; at: number }[] = [];
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
    this.#persistence.transaction(() => {
      for (const { deviceId, values, at } of batch) {
        const ts = new Date(at).toISOString();
        this.#persistence.enqueueReading({ deviceId, topic: this.#topics.reading(deviceId), ts: at }, (seq) =>
          JSON.stringify({ seq, ts, ...values }),
        );
        this.mergeState(deviceId, values, at);
      }
      // One write of the device states for the whole batch, in the same transaction.
      this.#persistence.states.writePending();
    });
    this.#afterCommit();
  }

  /**
   * Merges values into a device's state, records it and queues the retained state message; call it
   * inside a transaction (the state change and its message commit together).
   */
  mergeState(deviceId: string, values: DeviceValues, at: number): void {
    const state = { ...this.states.get(deviceId), ...values };
    this.states.set(deviceId, state);
    this.#persistence.states.save(deviceId, state, at);
    this.#persistence.outbox.enqueue({
      topic: this.#topics.device(deviceId),
      payload: JSON.stringify({ ...state, last_seen: new Date(at).toISOString() }),
      qos: 1,
      retain: true,
      kind: 'state',
    });
  }
}
