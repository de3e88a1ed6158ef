import type { Outbox, OutboxMessage } from '../persistence/index.js';

// Moves messages from the outbox to the broker: at most `window` published and not yet acknowledged,
// in outbox order; a message leaves the outbox only after the broker acknowledged it (PUBACK for
// QoS 1). When the link drops, the unacknowledged ones are sent again from the oldest once it is back
// (the only duplicates there can be, and readings carry their `seq` so consumers can drop them).
// New messages simply queue behind the backlog. Nothing per message is kept beyond the window.
//
// PUBACKs are handed to the outbox as id ranges (Outbox.acknowledge), which deletes them with its next
// transaction: per message that is no statement and no commit of its own. A range only ever covers
// messages published here in one go of id order and all acknowledged, so it cannot take one that is
// still waiting (or was never sent) with it.

/** What the drainer needs from the MQTT link. */
export interface PublishLink {
  readonly online: boolean;
  /**
   * Sends a message; `done` is called once, with null when the broker has it (PUBACK for QoS 1), or
   * with the error when it cannot say. A callback, not a promise: tens of thousands a second, the
   * promise, its resolvers and its reactions were most of what a publish kept alive while in flight.
   */
  publish(
    topic: string,
    payload: string,
    options: { qos: 0 | 1; retain: boolean },
    done: (error: Error | null) => void,
  ): void;
}

const IN_FLIGHT = 0;
const ACKED = 1;
/** Rejected (a timeout while online): it stays in the outbox and goes again after the next rewind. */
const FAILED = 2;

/** Shared by every publish, by retain flag and QoS (the link only reads them). */
const PUBLISH_OPTIONS = {
  plain: [
    { qos: 0, retain: false },
    { qos: 1, retain: false },
  ],
  retained: [
    { qos: 0, retain: true },
    { qos: 1, retain: true },
  ],
} as const;

interface Sent {
  id: number;
  status: typeof IN_FLIGHT | typeof ACKED | typeof FAILED;
}

export class OutboxDrainer {
  readonly #outbox: Outbox;
  readonly #link: PublishLink;
  /** Read before each batch, so a reloaded `queue.inflight` applies without a restart. */
  readonly #window: () => number;
  /** Published messages not handed back to the outbox yet, in publish (= id) order. */
  #sent: Sent[] = [];
  #inFlight = 0;
  /** The last id handed to the link; the next peek starts after it. */
  #cursor = 0;
  #pumpScheduled = false;
  /** Bumped on every link loss, so answers from an older connection are ignored. */
  #epoch = 0;
  #stopped = false;

  /** `window`: at most this many unacknowledged publishes; a function is read before each batch. */
  constructor(outbox: Outbox, link: PublishLink, window: number | (() => number)) {
    this.#outbox = outbox;
    this.#link = link;
    this.#window = typeof window === 'number' ? () => window : window;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Something was enqueued, acknowledged, or the link came up: publish what fits (coalesced per tick). */
  kick(): void {
    if (this.#pumpScheduled || this.#stopped) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** The link dropped: whatever was in flight is sent again, from the oldest, when it is back. */
  linkLost(): void {
    this.#epoch += 1;
    this.#handBack();
    // Acknowledged behind one still waiting (out-of-order PUBACKs): each on its own, never a range.
    for (const sent of this.#sent) if (sent.status === ACKED) this.#outbox.acknowledge(sent.id, sent.id);
    this.#sent = [];
    this.#inFlight = 0;
    // Deleted now, so the rewind below does not send them again.
    this.#outbox.flushAcks();
    this.#cursor = 0;
  }

  /** Deletes what the broker acknowledged so far and stops publishing. */
  stop(): void {
    this.#stopped = true;
    this.#handBack();
    this.#outbox.flushAcks();
  }

  #pump(): void {
    this.#handBack();
    if (this.#stopped || !this.#link.online) return;
    const room = this.#window() - this.#inFlight;
    if (room <= 0) return;
    const batch = this.#outbox.peek(room, this.#cursor);
    for (const message of batch) this.#send(message);
  }

  #send(message: OutboxMessage): void {
    const epoch = this.#epoch;
    const sent: Sent = { id: message.id, status: IN_FLIGHT };
    this.#sent.push(sent);
    this.#inFlight += 1;
    this.#cursor = message.id;
    const options = PUBLISH_OPTIONS[message.retain ? 'retained' : 'plain'][message.qos];
    this.#link.publish(message.topic, message.payload, options, (error) =>
      this.#answered(sent, epoch, error),
    );
  }

  #answered(sent: Sent, epoch: number, error: Error | null): void {
    // From a connection lost since: linkLost() rewound, nothing more to do here.
    if (epoch !== this.#epoch) return;
    this.#inFlight -= 1;
    if (error === null) {
      sent.status = ACKED;
      this.kick();
    } else {
      // The link going down (linkLost() follows) or a timeout: it stays in the outbox, for the rewind.
      sent.status = FAILED;
    }
  }

  /** Hands the acknowledged head of #sent to the outbox as ranges; stops at the first still waiting. */
  #handBack(): void {
    const sent = this.#sent;
    let done = 0;
    let first = -1;
    let last = -1;
    for (; done < sent.length; done++) {
      const { id, status } = sent[done] as Sent;
      if (status === IN_FLIGHT) break;
      if (status === ACKED) {
        if (first < 0) first = id;
        last = id;
      } else if (first >= 0) {
        // A failed one stays in the outbox: it ends the range.
        this.#outbox.acknowledge(first, last);
        first = -1;
      }
    }
    if (first >= 0) this.#outbox.acknowledge(first, last);
    if (done > 0) sent.splice(0, done);
  }
}
