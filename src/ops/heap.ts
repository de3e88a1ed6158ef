import { setFlagsFromString } from 'node:v8';

// How much V8 lets the heap grow between full collections. By default it lets the old generation grow
// to up to 4 times what survived the last full collection before collecting again; on a busy gateway
// that is mostly garbage (mqtt.js leaves ~6 KB per publish, a little of which lives long enough to be
// promoted), and it is what sets the process's peak RSS. Measured with `npm run bench` (1,000,000
// queued readings drained): peak RSS 161–174 MB with V8's default, 129–131 MB with 50 %, the same drain
// time; the price is more frequent full collections (about one a second at 30,000 messages/s, each a few
// ms: the live heap is ~17 MB). A gateway lives on a small box (the systemd unit caps it at 256 MB), so
// memory wins. The flag is read at every collection, so setting it at start, before any work, applies
// to the whole run.

/** The old generation may grow to (1 + this / 100) × its live size before the next full collection. */
export const HEAP_GROWING_PERCENT = 50;

/** Applies HEAP_GROWING_PERCENT to this process; call it once, first thing in the gateway process. */
export function tuneHeapForGateway(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
