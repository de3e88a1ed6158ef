import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MbusError } from '../actors/mbus/codec/errors.js';
import { parseHex } from '../actors/mbus/codec/frames.js';
import { decodeTelegram, telegramJson } from '../actors/mbus/codec/telegram.js';
import { type CliCommand, type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';

// `fieldbridge decode mbus <hex…>`: one frame in, its JSON out. For looking at what a meter sent (a hex
// dump from a log, a libmbus test frame) without a bus or a gateway.

/** Where the frame comes from when neither hex arguments nor --file are given. */
export type StdinReader = () => Promise<string>;

export async function readProcessStdin(): Promise<string> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

const USAGE = `Usage: fieldbridge decode mbus [HEX...] [--file FILE]

Decodes one M-Bus frame from a meter (RSP_UD: variable data CI 72, fixed data CI 73, or an
application error CI 70) and prints it as JSON: the frame fields, the meter's header and every
record, normalised to SI units as libmbus's "mbus_parse_hex -n" does, with the raw value, unit and
scale beside it. The frame is read from the HEX arguments ("68 1F 1F 68 08 ..." as one or many
arguments, spaces optional), from --file (a text file of hex pairs, like libmbus's .hex files), or
from stdin when neither is given. Exit code 0 when decoded; 1 with "error: <what is wrong>" on
stderr when the frame cannot be decoded.

Options:
  -f, --file FILE    Read the hex frame from FILE
  -h, --help         Show this help`;

function parseDecodeArgs(args: string[]): { file: string | undefined; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { file: { type: 'string', short: 'f' } },
      strict: true,
      allowPositionals: true,
    });
    return { file: values.file, positionals };
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // Node's messages quote the argument: "Unknown option '--foo'. To specify a positional ..."
    const quoted = /'([^']+)'/.exec(error.message)?.[1];
    const code = 'code' in error ? error.code : undefined;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${quoted ?? ''}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError('option --file needs a value');
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
      throw new MbusError(
        'bad_argument',
        `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return hex.length > 0 ? hex.join(' ') : readStdin();
}

export function decodeCommand(readStdin: StdinReader = readProcessStdin): CliCommand {
  return {
    name: 'decode',
    summary: 'Decode an M-Bus frame (hex) and print its records as JSON',
    usage: USAGE,

    async run(args, { io }) {
      const { file, positionals } = parseDecodeArgs(args);
      const [protocol, ...hex] = positionals;
      if (protocol === undefined) throw new UsageError('missing protocol: fieldbridge decode mbus <hex...>');
      if (protocol !== 'mbus') throw new UsageError(`unknown protocol "${protocol}" (expected mbus)`);
      try {
        const text = await readFrameText(file, hex, io, readStdin);
        const telegram = decodeTelegram(parseHex(text));
        io.stdout.write(`${JSON.stringify(telegramJson(telegram), null, 2)}\n`);
        return EXIT_OK;
      } catch (error) {
        if (!(error instanceof MbusError)) throw error;
        io.stderr.write(`error: ${error.message}\n`);
        return EXIT_FAILURE;
      }
    },
  };
}
