export interface EventuallyOptions {
  /** What is awaited, named in the failure message. */
  what: string;
  /** How long to wait before failing (default 5 s). */
  timeoutMs?: number;
  /** How often to check (default 10 ms). */
  intervalMs?: number;
  /** More to show when it fails, e.g. a process's output so far; read only on failure. */
  detail?: () => string;
  /** Why waiting longer is pointless (e.g. the process exited), or undefined to keep waiting. */
  abandon?: () => string | undefined;
}

/** The tests' one poll-until: resolves once `check` holds, else fails naming what it waited for. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  { what, timeoutMs = 5_000, intervalMs = 10, detail, abandon }: EventuallyOptions,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const failure = (reason: string) => new Error(detail ? `${reason}\n${detail()}` : reason);
  while (!(await check())) {
    if (Date.now() > deadline) throw failure(`timed out after ${timeoutMs} ms waiting for ${what}`);
    const gaveUp = abandon?.();
    if (gaveUp !== undefined) throw failure(`${gaveUp} before ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
