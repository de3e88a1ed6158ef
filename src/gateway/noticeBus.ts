import { errorText } from '../errorText.js';
import { getLogger, type Logger } from '../logging/index.js';
import type { GatewayNotice, NoticeSink } from '../machines/notices.js';

// Hands every notice of the supervision tree to the parts of the gateway that asked for it (the log,
// the bridge, HTTP, rescans), by notice type or all of them. Each listener is isolated: one that throws
// (a bug in the log) is reported once and the others still get that notice and every later one, so a
// failing part never silences the others.

export type NoticeType = GatewayNotice['type'];
export type NoticeOf<T extends NoticeType> = Extract<GatewayNotice, { type: T }>;

interface Listener {
  readonly name: string;
  readonly type: NoticeType | undefined;
  readonly receive: (notice: GatewayNotice) => void;
  failures: number;
}

export class NoticeBus {
  readonly #listeners: Listener[] = [];
  readonly #log: Logger;

  constructor(log: Logger = getLogger('gateway.notices')) {
    this.#log = log;
  }

  /** `listener` gets every notice of `type` from now on; the result unsubscribes it. */
  on<T extends NoticeType>(type: T, name: string, listener: (notice: NoticeOf<T>) => void): () => void {
    return this.#add({ name, type, receive: listener as (notice: GatewayNotice) => void, failures: 0 });
  }

  /** `listener` gets every notice from now on; the result unsubscribes it. */
  onAny(name: string, listener: NoticeSink): () => void {
    return this.#add({ name, type: undefined, receive: listener, failures: 0 });
  }

  /** The sink the supervision tree sends its notices to. */
  readonly publish: NoticeSink = (notice) => {
    // A copy: a listener may unsubscribe (itself or another) while the notice goes round.
    for (const listener of [...this.#listeners]) {
      if (listener.type !== undefined && listener.type !== notice.type) continue;
      try {
        listener.receive(notice);
      } catch (error) {
        listener.failures += 1;
        // Once per listener: a listener that throws on every notice would otherwise flood the log.
        if (listener.failures === 1)
          this.#log.error(
            `the ${listener.name} failed on a ${notice.type} notice (later failures are not logged): ${errorText(error)}`,
            { error },
          );
      }
    }
  };

  /** How many notices each listener that failed has thrown on, by name. */
  failures(): Record<string, number> {
    return Object.fromEntries(
      this.#listeners.filter((listener) => listener.failures > 0).map((l) => [l.name, l.failures]),
    );
  }

  #add(listener: Listener): () => void {
    this.#listeners.push(listener);
    return () => {
      const index = this.#listeners.indexOf(listener);
      if (index >= 0) this.#listeners.splice(index, 1);
    };
  }
}
