// A half-duplex bus carries one conversation at a time: every request/answer pair, every scan and
// every reopen of the port takes this lock, in arrival order. A caller that gives up (its AbortSignal
// fires) while waiting leaves the queue without ever touching the bus.

export class BusLock {
  #tail: Promise<void> = Promise.resolve();
  #busyWith: string | undefined;

  /** What holds the bus now, for error messages ("bus busy: scan in progress"). */
  get busyWith(): string | undefined {
    return this.#busyWith;
  }

  run<T>(what: string, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release: () => void = () => undefined;
    this.#tail = new Promise<void>((resolve) => (release = resolve));
    return previous.then(async () => {
      try {
        signal?.throwIfAborted();
        this.#busyWith = what;
        return await work();
      } finally {
        this.#busyWith = undefined;
        release();
      }
    });
  }
}
