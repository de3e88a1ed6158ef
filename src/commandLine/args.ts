// node:util parseArgs with errors that name the offending argument in the CLI's own words.

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './io.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

function toUsageError(error: unknown): unknown {
  if (!(error instanceof TypeError) || !('code' in error)) return error;
  // Node's messages quote the argument: "Unknown option '--foo'. To specify a positional ..."
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unknown option ${quoted}`);
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return new UsageError(`unexpected argument "${quoted}"`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return new UsageError(`option ${quoted.replace(/ <value>$/, '')} needs a value`);
    default:
      return new UsageError(error.message);
  }
}

/** Parses a command's arguments strictly: unknown options and stray arguments are usage errors. */
export function parseCommandArgs<Options extends OptionsConfig>(args: string[], options: Options) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw toUsageError(error);
  }
}

/** parseCommandArgs() for a command that also takes arguments: its options and its positionals. */
export function parseCommandLine<Options extends OptionsConfig>(args: string[], options: Options) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw toUsageError(error);
  }
}

/** True when `--help` or `-h` appears among a command's arguments (before any `--`). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  const options = end === -1 ? args : args.slice(0, end);
  return options.includes('--help') || options.includes('-h');
}
