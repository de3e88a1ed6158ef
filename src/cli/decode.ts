import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BleDecodeError,
  type BleReading,
  decodeAtc,
  decodeBthome,
  decodeRuuvi,
  parseHexBytes,
} from '../drivers/ble/codec/index.js';
import { DaliError, decodeDaliBytes, parseHex as parseDaliHex } from '../drivers/dali/codec/index.js';
import { MbusError } from '../drivers/mbus/codec/errors.js';
import { parseHex } from '../drivers/mbus/codec/frames.js';
import { decodeTelegram, telegramJson } from '../drivers/mbus/codec/telegram.js';
import { type CliCommand, type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';
import { errorText } from '../errorText.js';

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

       fieldbridge decode bthome|ruuvi|atc [HEX...] [--file FILE] [--key KEY] [--mac MAC]

Decodes one BLE advertisement payload and prints the reading as JSON (values, Home Assistant
metadata, events, packet id): bthome = BTHome v2 service data of UUID FCD2, from the device info
byte on (an encrypted one needs --key and, unless the payload includes it, --mac); ruuvi = Ruuvi
data format 5 manufacturer data (the 24 bytes after company id 0499); atc = service data of UUID
181A in the ATC1441 (13 bytes) or pvvx (15 bytes) format.

       fieldbridge decode dali [HEX...] [--file FILE]

Decodes DALI traffic and prints it as JSON: 2 bytes are a forward frame (address and command,
e.g. "0B A0" = QUERY ACTUAL LEVEL to short address 5), 10 bytes a hasseb DALI Master USB report,
host to adapter (the frame it sends, sequence number, send-twice) or adapter to host (the answer,
no answer, invalid answer, firmware version).

Options:
  -f, --file FILE    Read the hex frame from FILE
  -k, --key KEY      bthome: the device's bind key (32 hex digits)
  -m, --mac MAC      bthome: the device's MAC (AA:BB:CC:DD:EE:FF), for decrypting
  -h, --help         Show this help`;

interface DecodeArgs {
  file: string | undefined;
  key: string | undefined;
  mac: string | undefined;
  positionals: string[];
}

function parseDecodeArgs(args: string[]): DecodeArgs {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: {
        file: { type: 'string', short: 'f' },
        key: { type: 'string', short: 'k' },
        mac: { type: 'string', short: 'm' },
      },
      strict: true,
      allowPositionals: true,
    });
    return { file: values.file, key: values.key, mac: values.mac, positionals };
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
      throw new MbusError('bad_argument', `cannot read ${path}: ${errorText(error)}`);
    }
  }
  return hex.length > 0 ? hex.join(' ') : readStdin();
}

const BLE_PROTOCOLS: readonly string[] = ['bthome', 'ruuvi', 'atc'];

function decodeBle(
  protocol: string,
  text: string,
  key: string | undefined,
  mac: string | undefined,
): BleReading {
  const bytes = parseHexBytes(text);
  if (protocol === 'ruuvi') return decodeRuuvi(bytes);
  if (protocol === 'atc') return decodeAtc(bytes);
  return decodeBthome(bytes, { bindKey: key, mac });
}

export function decodeCommand(readStdin: StdinReader = readProcessStdin): CliCommand {
  return {
    name: 'decode',
    summary: 'Decode an M-Bus, DALI, BTHome, Ruuvi or ATC frame (hex) and print it as JSON',
    usage: USAGE,

    async run(args, { io }) {
      const { file, key, mac, positionals } = parseDecodeArgs(args);
      const [protocol, ...hex] = positionals;
      if (protocol === undefined) throw new UsageError('missing protocol: fieldbridge decode mbus <hex...>');
      if (protocol !== 'mbus' && protocol !== 'dali' && !BLE_PROTOCOLS.includes(protocol)) {
        throw new UsageError(`unknown protocol "${protocol}" (expected mbus, dali, bthome, ruuvi or atc)`);
      }
      if (protocol !== 'bthome' && (key !== undefined || mac !== undefined)) {
        throw new UsageError('--key and --mac are for bthome only');
      }
      try {
        const text = await readFrameText(file, hex, io, readStdin);
        const json =
          protocol === 'mbus'
            ? telegramJson(decodeTelegram(parseHex(text)))
            : protocol === 'dali'
              ? decodeDaliBytes(parseDaliHex(text))
              : decodeBle(protocol, text, key, mac);
        io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        return EXIT_OK;
      } catch (error) {
        if (
          !(error instanceof MbusError) &&
          !(error instanceof BleDecodeError) &&
          !(error instanceof DaliError)
        ) {
          throw error;
        }
        io.stderr.write(`error: ${error.message}\n`);
        return EXIT_FAILURE;
      }
    },
  };
}
