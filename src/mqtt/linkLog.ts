import { type Logger, logTransition, RepeatedFailureLog } from '../logging/index.js';
import type { LinkContext, LinkState } from './linkModel.js';

// How the link's transitions reach the log. A broker that stays away must not write a line per retry
// (at the 30 s cap that is 2,880 a day): the first failure is a warning, the outage is summarised by
// RepeatedFailureLog, its end is one info line; the retry loop itself (offline ⇄ reconnecting) is debug.

const OUTAGE = 'broker';

/** The URL without its password, for logs. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

export class LinkLog {
  readonly #logger: Logger;
  readonly #outage: RepeatedFailureLog;
  readonly #url: string;

  constructor(logger: Logger, url: string, now: () => number) {
    this.#logger = logger;
    this.#url = displayUrl(url);
    this.#outage = new RepeatedFailureLog(logger, { now, summary: 'MQTT broker still unreachable' });
  }

  transition(from: LinkState, to: LinkState, context: LinkContext): void {
    const meta = { from, to, reason: context.reason, attempts: context.attempts, broker: this.#url };
    if (to === 'offline') {
      const what = from === 'online' ? 'lost the MQTT broker' : 'cannot reach the MQTT broker';
      this.#outage.failure(OUTAGE, `${what} at ${this.#url}: ${context.reason}`, meta);
      this.#logger.debug(`${from} → ${to} (${context.reason})`, meta);
    } else if (to === 'online' && this.#outage.failureCount(OUTAGE) > 0) {
      this.#outage.success(OUTAGE, `online again, connected to ${this.#url}`, meta);
    } else if (to === 'reconnecting') {
      this.#logger.debug(`${from} → ${to} (${context.reason})`, meta);
    } else {
      logTransition(this.#logger, {
        ...meta,
        reason: to === 'online' ? `connected to ${this.#url}` : context.reason,
      });
    }
  }

  /** Due outage summaries, for the gateway's health tick. */
  flush(): void {
    this.#outage.flush();
  }
}
