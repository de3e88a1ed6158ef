// What a command may touch. Everything comes in through here so commands run in tests without spawning
// a process, touching the real environment, or starting the gateway.

import type { FieldbridgeConfig } from '../config/index.js';

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

/** src/gateway.ts; resolves with the process exit code once the gateway has stopped. */
export type GatewayRunner = (
  config: FieldbridgeConfig,
  options: { configSource: string; inspectPort?: number },
) => Promise<number>;

export interface CliDependencies {
  runGateway: GatewayRunner;
}

export interface CliContext {
  io: CliIo;
  dependencies: CliDependencies;
}

export interface CliCommand {
  name: string;
  /** One line for the command overview. */
  summary: string;
  /** Full text for `fieldbridge <command> --help`. */
  usage: string;
  /** Resolves with the exit code. */
  run(args: string[], context: CliContext): Promise<number>;
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
