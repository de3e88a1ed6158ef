// Entry point of the command line, kept free of process globals so tests can drive it directly.

import { closestMatch } from '../config/fields/suggest.js';
import { readPackageVersion } from '../version.js';
import { wantsHelp } from '../commandLine/args.js';
import { checkConfigCommand } from './check-config.js';
import { decodeCommand } from './decode.js';
import { exportCommand } from './export.js';
import { healthCommand } from './health.js';
import { helpCommand, overviewText } from './help.js';
import {
  type CliCommand,
  type CliDependencies,
  type CliIo,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
} from './io.js';
import { removeDeviceCommand } from './remove-device.js';
import { scanCommand } from './scan.js';
import { simulateCommand } from './simulate.js';
import { startCommand } from './start.js';

/** Every command, in the order `--help` lists them. New commands (decode, simulate, export) go here. */
export const COMMANDS: readonly CliCommand[] = [
  startCommand,
  checkConfigCommand,
  exportCommand,
  removeDeviceCommand,
  scanCommand,
  healthCommand,
  decodeCommand(),
  simulateCommand,
  helpCommand(() => COMMANDS),
];

export const defaultDependencies: CliDependencies = {
  // Imported on demand: check-config and --help must not load the gateway and its native modules.
  runGateway: async (config, options) => {
    const { runGateway } = await import('../gateway.js');
    return runGateway(config, options);
  },
};

function reportUsageError(io: CliIo, error: UsageError, command: string | undefined): number {
  const prefix = command === undefined ? 'fieldbridge' : `fieldbridge ${command}`;
  io.stderr.write(`${prefix}: ${error.message}\nRun "${prefix} --help" for usage.\n`);
  return EXIT_USAGE;
}

function unknownCommand(name: string): UsageError {
  const suggestion = closestMatch(
    name,
    COMMANDS.map((command) => command.name),
  );
  const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
  return new UsageError(`unknown command "${name}"${hint}`);
}

async function dispatch(argv: readonly string[], io: CliIo, dependencies: CliDependencies): Promise<number> {
  const [first, ...args] = argv;
  if (first === undefined) {
    io.stderr.write(overviewText(COMMANDS));
    return EXIT_USAGE;
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`${await readPackageVersion()}\n`);
    return EXIT_OK;
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(overviewText(COMMANDS));
    return EXIT_OK;
  }
  if (first.startsWith('-')) throw new UsageError(`unknown option ${first}`);

  const command = COMMANDS.find((candidate) => candidate.name === first);
  if (command === undefined) throw unknownCommand(first);
  if (wantsHelp(args)) {
    io.stdout.write(`${command.usage}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(args, { io, dependencies });
  } catch (error) {
    if (error instanceof UsageError) return reportUsageError(io, error, command.name);
    throw error;
  }
}

/** Runs one command line (without the `node cli.js` part) and resolves with the exit code. */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  dependencies: CliDependencies = defaultDependencies,
): Promise<number> {
  try {
    return await dispatch(argv, io, dependencies);
  } catch (error) {
    if (error instanceof UsageError) return reportUsageError(io, error, undefined);
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr.write(`fieldbridge: unexpected error: ${detail}\n`);
    return EXIT_FAILURE;
  }
}
