import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { DecodeOption, DriverDecoder } from '../drivers/contract.js';
import { DRIVER_MODULES } from '../drivers/registry.js';
import { listAlternatives } from '../config/fields/suggest.js';
import { type CliCommand, type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';
import { errorText } from '../errorText.js';

// `fieldbridge decode <protocol> <hex…>`: one frame in, its JSON out, for looking at what a device sent
// (a hex dump from a log, a test frame) without a bus or a gateway. Each driver names its protocols,
// its options and its part of the usage (DriverModule.decode); this file reads the frame and prints.

/** A frame that cannot be read or decoded: exit code 1, not a usage error. */
class FrameError extends Error {}

/** Where the frame comes from when neither hex arguments nor --file are given. */
export type StdinReader = () => Promise<string>;

export async function readProcessStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

const DECODERS: readonly DriverDecoder[] = DRIVER_MODULES.flatMap((driver) =>
  driver.decode ? [driver.decode] : [],
);
const PROTOCOLS = DECODERS.flatMap((decoder) => decoder.protocols);
const DRIVER_OPTIONS: readonly DecodeOption[] = DECODERS.flatMap((decoder) => decoder.options ?? []);

function optionLine(short: string, long: string, help: string): string {
  return `  ${`-${short}, ${long}`.padEnd(19)}${help}`;
}

const USAGE = [
  ...DECODERS.map((decoder, i) => `${i === 0 ? 'Usage: ' : '       '}${decoder.usage}\n`),
  'Options:',
  optionLine('f', '--file FILE', 'Read the hex frame from FILE'),
  ...DRIVER_OPTIONS.map((option) =>
    optionLine(option.short, `--${option.name} ${option.value}`, option.help),
  ),
  optionLine('h', '--help', 'Show this help'),
].join('\n');

interface DecodeArgs {
  file: string | undefined;
  /** The drivers' options given (`--key`), by name. */
  options: Record<string, string | undefined>;
  positionals: string[];
}

function parseDecodeArgs(args: string[]): DecodeArgs {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: {
        file: { type: 'string', short: 'f' },
        ...Object.fromEntries(
          DRIVER_OPTIONS.map((option) => [option.name, { type: 'string', short: option.short } as const]),
        ),
      },
      strict: true,
      allowPositionals: true,
    });
    const { file, ...options } = values as Record<string, string | undefined>;
    return { file, options, positionals };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // Node's messages quote the argument: "Unknown option '--foo'. To specify a positional ..."
    const quoted = /'([^']+)'/.exec(error.message)?.[1];
    const code = 'code' in error ? error.code : undefined;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${quoted ?? ''}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`option --${/--(\w+)/.exec(quoted ?? '')?.[1] ?? 'file'} needs a value`);
    }
    throw new UsageError(error.message);
  }
}

async function readFrameText(
  file: string | undefined,
  hex: string[],
  io: CliIo,
  readStdin: StdinReader,
): Promise<string> {
  if (file !== undefined) {
    if (hex.length > 0) throw new UsageError('give the frame as HEX arguments or with --file, not both');
    const path = resolve(io.cwd, file);
    try {
      return await readFile(path, 'utf8');
    } catch (error) {
      throw new FrameError(`cannot read ${path}: ${errorText(error)}`);
    }
  }
  return hex.length > 0 ? hex.join(' ') : readStdin();
}

/** Why an option given is not for `protocol` ("--key and --mac are for bthome only"), if one is not. */
function foreignOption(protocol: string, given: Record<string, string | undefined>): string | undefined {
  const foreign = DRIVER_OPTIONS.find(
    (option) => given[option.name] !== undefined && !option.protocols.includes(protocol),
  );
  if (!foreign) return undefined;
  const siblings = DRIVER_OPTIONS.filter(
    (option) => option.protocols.join() === foreign.protocols.join(),
  ).map((option) => `--${option.name}`);
  const verb = siblings.length === 1 ? 'is' : 'are';
  return `${siblings.join(' and ')} ${verb} for ${listAlternatives(foreign.protocols)} only`;
}

export function decodeCommand(readStdin: StdinReader = readProcessStdin): CliCommand {
  return {
    name: 'decode',
    summary: `Decode an ${listAlternatives(DECODERS.flatMap((decoder) => decoder.titles))} frame (hex) and print it as JSON`,
    usage: USAGE,

    async run(args, { io }) {
      const { file, options, positionals } = parseDecodeArgs(args);
      const [protocol, ...hex] = positionals;
      if (protocol === undefined) {
        throw new UsageError(`missing protocol: fieldbridge decode ${PROTOCOLS[0] ?? ''} <hex...>`);
      }
      const decoder = DECODERS.find((candidate) => candidate.protocols.includes(protocol));
      if (!decoder) {
        throw new UsageError(`unknown protocol "${protocol}" (expected ${listAlternatives(PROTOCOLS)})`);
      }
      const foreign = foreignOption(protocol, options);
      if (foreign) throw new UsageError(foreign);
      try {
        const outcome = decoder.decode(protocol, await readFrameText(file, hex, io, readStdin), options);
        if ('error' in outcome) throw new FrameError(outcome.error);
        io.stdout.write(`${JSON.stringify(outcome.json, null, 2)}\n`);
        return EXIT_OK;
      } catch (error) {
        if (!(error instanceof FrameError)) throw error;
        io.stderr.write(`error: ${error.message}\n`);
        return EXIT_FAILURE;
      }
    },
  };
}
