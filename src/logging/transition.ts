// State machines (device, supervisor, MQTT link) log every transition the same way, so an operator
// can grep `→` and a JSON consumer can filter on from/to.

import type { Logger } from './logger.js';

export interface Transition {
  from: string;
  to: string;
  /** Why, in a few words: "connect succeeded", "3 polls timed out". */
  reason?: string;
  [meta: string]: unknown;
}

/** One info line: `connecting → connected (connect succeeded)`, with from/to/reason also as fields. */
export function logTransition(logger: Logger, transition: Transition): void {
  const { from, to, reason } = transition;
  logger.info(reason ? `${from} → ${to} (${reason})` : `${from} → ${to}`, transition);
}
