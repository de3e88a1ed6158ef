// A half-duplex bus carries one conversation at a time: every request/answer pair, every scan and
// every reopen of the port takes this lock, in arrival order. A caller that gives up (its AbortSignal
// fires) while waiting leaves the queue at once without ever touching the bus: otherwise, behind a
// stuck holder, every poll, connect and recovery step of the line would pile up and run long after
// its caller stopped caring. Once a caller holds the bus, its signal is its own work's business.

export class BusLock {
  /** Starts of the callers waiting for the bus, in arrival order. */
  readonly #waiting: (() => void)[] = [];
  #held = false;
  #busyWith: string | undefined;

  /** What holds the bus now, for error messages ("bus busy: scan in progress"). */
  get busyWith(): string | undefined {
    return this.#busyWith;
  }

  /** How many callers wait for the bus (not counting the one holding it). */
  get waiting(): number {
    return this.#waiting.length;
  }

  run<T>(what: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    if (signal?.aborted) return Promise.reject(this.#cancelled(what, signal));
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        signal?.removeEventListener('abort', leave);
        this.#held = true;
        this.#busyWith = what;
        let working: Promise<T>;
        try {
          working = work();
        } catch (error) {
          working = Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
        working.then(resolve, reject).finally(() => this.#release());
      };
      const leave = () => {
        const index = this.#waiting.indexOf(start);
        if (index >= 0) this.#waiting.splice(index, 1);
        reject(this.#cancelled(what, signal));
      };
      if (!this.#held) return start();
      this.#waiting.push(start);
      signal?.addEventListener('abort', leave, { once: true });
    });
  }

  #release(): void {
    this.#busyWith = undefined;
    this.#held = false;
    this.#waiting.shift()?.();
  }

  #cancelled(what: string, signal: AbortSignal | undefined): Error {
    if (signal?.reason instanceof Error) return signal.reason;
    const holder = this.#busyWith === undefined ? '' : ` (held by ${this.#busyWith})`;
    return new Error(`${what} was cancelled while waiting for the bus${holder}`);
  }
}
