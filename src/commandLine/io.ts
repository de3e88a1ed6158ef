// A leaf shared by the CLI (src/cli) and the drivers' simulators (src/drivers/<x>/simulator/cli.ts):
// what a command may touch, its exit codes and its usage error. The CLI imports the drivers through
// the registry, so what the drivers' commands need from it lives here, importing nothing back.

export interface TextSink {
  write(text: string): unknown;
}

export interface CliIo {
  stdout: TextSink;
  stderr: TextSink;
  env: Readonly<Record<string, string | undefined>>;
  /** Relative paths given on the command line are resolved against this. */
  cwd: string;
}

export const EXIT_OK = 0;
/** The gateway or a command failed while running. */
export const EXIT_FAILURE = 1;
/** The command line or the configuration is wrong; nothing was started. */
export const EXIT_USAGE = 2;

/** Wrong command line: reported with a pointer to `--help` and exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What a running simulator needs from the process (stdin commands, signals); tests pass their own. */
export interface SimulateRuntime {
  stdin: NodeJS.ReadableStream | undefined;
  /** Subscribes to a signal; returns the unsubscribe. */
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void;
  socat?: string;
}
