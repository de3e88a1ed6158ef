// What a command may touch. Everything comes in through here so commands run in tests without spawning
// a process, touching the real environment, or starting the gateway.

import type { FieldbridgeConfig } from '../config/index.js';
import type { CliIo } from '../commandLine/io.js';

export {
  type CliIo,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  type TextSink,
  UsageError,
} from '../commandLine/io.js';

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
