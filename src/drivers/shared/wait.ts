// Waiting without hanging: every wait of the drivers (BLE sessions, the M-Bus master) ends when its
// condition holds, its bound passes or its caller aborts, and says which of them it was.

/** Waits until `ready()` holds, re-checked whenever a waiter in `waiters` is woken; rejects on abort. */
export function waitUntil(
  ready: () => boolean,
  waiters: Set<() => void>,
  signal: AbortSignal,
): Promise<void> {
  if (ready()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const wake = () => {
      if (!ready()) return;
      done();
      resolve();
    };
    const onAbort = () => {
      done();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const done = () => {
      waiters.delete(wake);
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) return onAbort();
    waiters.add(wake);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** An AbortSignal that fires when `parent` does or after `ms`, with a message naming the bound. */
export function boundedSignal(parent: AbortSignal | undefined, ms: number, what: string): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  const bounded = new AbortController();
  const onTimeout = () => bounded.abort(new Error(`${what} did not finish within ${ms} ms`));
  const onParent = () => bounded.abort(parent?.reason);
  timeout.addEventListener('abort', onTimeout, { once: true });
  parent?.addEventListener('abort', onParent, { once: true });
  if (parent?.aborted) onParent();
  return bounded.signal;
}

export function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
