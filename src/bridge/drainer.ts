import type { Outbox, OutboxMessage } from '../persistence/index.js';

// Moves messages from the outbox to the broker: at most `window` published and not yet acknowledged,
// in outbox order; a message leaves the outbox only after the broker acknowledged it (PUBACK for
// QoS 1). When the link drops, the unacknowledged ones are sent again from the oldest once it is back
// (the only duplicates there can be, and readings carry their `seq` so consumers can drop them).
// New messages simply queue behind the backlog. Nothing per message is kept beyond the window.

/** What the drainer needs from the MQTT link. */
export interface PublishLink {
  readonly online: boolean;
  /** Resolves once the broker has the message (PUBACK for QoS 1), rejects if it cannot say. */
  publish(topic: string, payload: string, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
}

export class OutboxDrainer {
  readonly #outbox: Outbox;
  readonly #link: PublishLink;
  readonly #window: number;
  /** Ids published and not yet acknowledged. */
  readonly #inFlight = new Set<number>();
  /** Acknowledged ids not yet deleted; deleted together, once per tick, in one statement batch. */
  #acked: number[] = [];
  /** The last id handed to the link; the next peek starts after it. */
  #cursor = 0;
  #pumpScheduled = false;
  #ackScheduled = false;
  /** Bumped on every link loss, so answers from an older connection are ignored. */
  #epoch = 0;
  #stopped = false;

  constructor(outbox: Outbox, link: PublishLink, window: number) {
    this.#outbox = outbox;
    this.#link = link;
    this.#window = window;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Something was enqueued or the link came up: publish what fits in the window (coalesced per tick). */
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
    this.#inFlight.clear();
    this.#flushAcks();
    this.#cursor = 0;
  }

  /** Deletes what the broker acknowledged so far and stops publishing. */
  stop(): void {
    this.#stopped = true;
    this.#flushAcks();
  }

  #pump(): void {
    if (this.#stopped || !this.#link.online) return;
    const room = this.#window - this.#inFlight.size;
    if (room <= 0) return;
    const batch = this.#outbox.peek(room, this.#cursor);
    for (const message of batch) this.#send(message);
  }

  #send(message: OutboxMessage): void {
    const epoch = this.#epoch;
    this.#inFlight.add(message.id);
    this.#cursor = message.id;
    this.#link.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }).then(
      () => {
        if (epoch !== this.#epoch) return;
        this.#inFlight.delete(message.id);
        this.#acked.push(message.id);
        this.#scheduleAckFlush();
        this.kick();
      },
      () => {
        // The link is going down; linkLost() rewinds. Nothing to do per message.
        if (epoch === this.#epoch) this.#inFlight.delete(message.id);
      },
    );
  }

  #scheduleAckFlush(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      this.#flushAcks();
    });
  }

  #flushAcks(): void {
    if (this.#acked.length === 0) return;
    const ids = this.#acked;
    this.#acked = [];
    this.#outbox.ackMany(ids);
  }
}
