import { statSync } from 'node:fs';
import { every, type GatewayClock, systemClock } from '../../machines/clock.js';

// Watches a lost serial port's path for the converter coming back. A replugged USB converter (or a
// restarted pty) first disappears and then shows up again, often as a new device node: either one
// means "try now", which the bus turns into DEVICE_PRESENT so waiting meters skip the rest of their
// backoff and are back within about one watch interval of the replug. Polling the path (every 100 ms by
// default) works for /dev/ttyUSB*, /dev/serial/by-id links and pty links alike, without udev.

function identity(path: string): string | undefined {
  try {
    const stat = statSync(path); // follows links: a dangling by-id link counts as gone
    return `${stat.dev}:${stat.ino}:${stat.rdev}:${stat.ctimeMs}`;
  } catch {
    return undefined;
  }
}

/** Whether the port's path is there now (following links). */
export function pathPresent(path: string): boolean {
  return identity(path) !== undefined;
}

export class PortWatch {
  /** Cancels the polling. */
  #timer: (() => void) | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly onPresent: () => void,
    private readonly clock: Pick<GatewayClock, 'setTimeout' | 'clearTimeout'> = systemClock,
  ) {}

  /**
   * While the port is open: reports when its path disappears. Some losses are invisible to reads and
   * writes (a pty whose other end went away, a converter that vanished between two polls).
   */
  whileOpen(path: string, onGone: () => void): void {
    this.stop();
    this.#timer = every(
      this.clock,
      this.intervalMs,
      () => {
        if (identity(path) !== undefined) return;
        this.stop();
        onGone();
      },
      { unref: true },
    );
  }

  /** After a loss: watches `paths` (the port in use and the configured one) for the converter's return. */
  start(...paths: string[]): void {
    this.stop();
    const watched = [...new Set(paths)];
    const lostAs = new Map(watched.map((path) => [path, identity(path)]));
    const gone = new Set<string>();
    this.#timer = every(
      this.clock,
      this.intervalMs,
      () => {
        for (const path of watched) {
          const now = identity(path);
          if (now === undefined) {
            gone.add(path);
            continue;
          }
          if (gone.has(path) || now !== lostAs.get(path)) {
            this.stop();
            this.onPresent();
            return;
          }
        }
      },
      { unref: true },
    );
  }

  stop(): void {
    this.#timer?.();
    this.#timer = undefined;
  }
}
