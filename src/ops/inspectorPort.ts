/** The Stately inspector relay's default port (kept apart so `--help` does not load the relay). */
export const DEFAULT_INSPECT_PORT = 4242;
