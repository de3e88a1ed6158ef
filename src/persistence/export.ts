// `fieldbridge export`: the device states and the queued outbox messages as JSON lines, for a look at
// what a gateway holds (or for moving a backlog by hand). The outbox is read in pages, so exporting a
// million queued messages needs no more memory than exporting ten.

import type { Persistence } from './persistence.js';

const PAGE_SIZE = 1_000;

/** Writes one line (no newline at its end) per device state, then one per queued message, oldest first. */
export function exportJsonLines(
  persistence: Pick<Persistence, 'states' | 'outbox'>,
  write: (line: string) => void,
): void {
  for (const { deviceId, state, at } of persistence.states.all()) {
    write(JSON.stringify({ type: 'device_state', deviceId, state, at }));
  }
  let afterId = 0;
  for (;;) {
    const page = persistence.outbox.peek(PAGE_SIZE, afterId);
    for (const message of page) write(JSON.stringify({ type: 'outbox', ...message }));
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE_SIZE) return;
    afterId = last.id;
  }
}
