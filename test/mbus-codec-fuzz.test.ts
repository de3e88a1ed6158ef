import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MbusError } from '../src/drivers/mbus/codec/errors.js';
import { errorText } from '../src/errorText.js';
import { encodeFrame, parseHex } from '../src/drivers/mbus/codec/frames.js';
import { decodeTelegram, telegramJson } from '../src/drivers/mbus/codec/telegram.js';
import { VECTORS_DIR } from './helpers/vectors.js';
import { seededRandom } from '../src/drivers/shared/random.js';

// Whatever arrives on the serial line, decodeTelegram answers with a telegram or an MbusError: never a
// TypeError, a RangeError, a hang or an undecodable JSON. Four kinds of input, from a seeded PRNG so a
// failure names its seed and case and can be replayed (MBUS_FUZZ_SEED=… npx vitest run <this file>):
//
//   random bytes           mostly refused by the link layer, but also odd start bytes and lengths
//   random long frames     valid length and checksum around random data: the record reader must cope
//   random records         a valid header, then DIF/DIFE/VIF/VIFE chains biased to the tricky codes
//   mutated real frames    libmbus's frames with bytes changed, inserted, deleted or cut, the framing
//                          repaired most of the time so the damage reaches the application layer

const SEED = Number(process.env.MBUS_FUZZ_SEED ?? 0x6d627573);
const CASES_PER_KIND = 55_000;
const TIME_LIMIT_MS = 15_000;

const random = seededRandom(SEED);
const int = (below: number) => Math.floor(random() * below);
const byte = () => int(256);
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
function bytes(length: number): number[] {
  const result = new Array<number>(length);
  for (let i = 0; i < length; i++) result[i] = byte();
  return result;
}

const RSP_UD = [0x08, 0x08, 0x08, 0x18, 0x28, 0x38];
const CIS = [0x72, 0x72, 0x72, 0x72, 0x73, 0x70, 0x7a, 0x51];
/** A variable data header: id, manufacturer, version, medium, access number, status, signature. */
const header = () => [0x78, 0x56, 0x34, 0x12, 0x2d, 0x2c, byte(), byte(), byte(), byte(), 0, 0];

function longFrame(data: number[], ci = pick(CIS)): Buffer {
  return encodeFrame({ kind: 'long', c: pick(RSP_UD), a: byte(), ci, data: Buffer.from(data.slice(0, 252)) });
}

function randomBytes(): Uint8Array {
  const start = pick([0x68, 0x68, 0x10, 0xe5, byte()]);
  const rest = bytes(int(start === 0x68 ? 270 : 12));
  if (start === 0x68 && rest.length > 3 && random() < 0.5) {
    // Plausible length fields, so some frames get as far as the checksum.
    const length = rest.length - 5;
    rest[0] = length & 0xff;
    rest[1] = length & 0xff;
    rest[2] = 0x68;
  }
  return Uint8Array.from([start, ...rest]);
}

function randomLongFrame(): Uint8Array {
  const data = Buffer.allocUnsafe(int(253));
  for (let i = 0; i < data.length; i++) data[i] = byte();
  return encodeFrame({ kind: 'long', c: pick(RSP_UD), a: byte(), ci: pick(CIS), data });
}

const DIFS = [0x0f, 0x1f, 0x2f, 0x0d, 0x8d, 0x84, 0xc4, 0x05, 0x0e, 0x07, 0x08, 0x3f];
const VIFS = [0xfd, 0xfb, 0x7c, 0xfc, 0x6c, 0x6d, 0xff, 0x7b, 0x83];
const EXTENSION = [0x80, 0x81, 0xff, 0x0f, 0x74];
const LVARS = [0x05, 0xbf, 0xc3, 0xd2, 0xe4, 0xf0, 0xf4, 0xf5, 0xf6, 0xf7, 0xff];

function randomRecord(): number[] {
  const record = [random() < 0.5 ? pick(DIFS) : byte()];
  while ((record[record.length - 1] ?? 0) & 0x80 && record.length < 13) record.push(pick(EXTENSION));
  const vif = random() < 0.5 ? pick(VIFS) : byte();
  record.push(vif);
  if ((vif & 0x7f) === 0x7c) record.push(int(8), ...bytes(int(8)));
  let last = vif;
  for (let n = 0; last & 0x80 && n < 12; n++) {
    last = pick(EXTENSION);
    record.push(last);
  }
  if (((record[0] ?? 0) & 0x0f) === 0x0d) record.push(pick(LVARS));
  record.push(...bytes(int(12)));
  return record;
}

function randomRecords(): Uint8Array {
  const data = header();
  while (data.length < 240 && random() < 0.85) data.push(...randomRecord());
  return longFrame(data, 0x72);
}

function seedFrames(): Buffer[] {
  const dir = VECTORS_DIR && join(VECTORS_DIR, 'libmbus', 'test-frames');
  if (dir === undefined || !existsSync(dir)) {
    return [parseHex('68 13 13 68 08 05 73 78 56 34 12 0A 00 E9 7E 01 00 00 00 35 01 00 00 3C 16')];
  }
  return readdirSync(dir)
    .filter((name) => name.endsWith('.hex'))
    .map((name) => parseHex(readFileSync(join(dir, name), 'latin1')));
}

const SEEDS = seedFrames();

function mutatedFrame(): Uint8Array {
  const original = [...pick(SEEDS)];
  const repair = random() < 0.75;
  // Mutate the data only when the framing will be repaired; otherwise anywhere.
  const from = repair ? 7 : 0;
  const work = repair ? original.slice(0, -2) : original;
  for (let n = 1 + int(4); n > 0; n--) {
    const at = from + int(Math.max(1, work.length - from));
    switch (int(5)) {
      case 0:
        work[at] = byte();
        break;
      case 1:
        work[at] = (work[at] ?? 0) ^ (1 << int(8));
        break;
      case 2:
        work.splice(at, 0, byte());
        break;
      case 3:
        work.splice(at, 1);
        break;
      default:
        work.length = Math.max(from, at);
    }
  }
  if (!repair) return Uint8Array.from(work);
  const [, , , , c = 0x08, a = 0, ci = 0x72, ...data] = work;
  return encodeFrame({ kind: 'long', c, a, ci, data: Buffer.from(data.slice(0, 252)) });
}

interface Escape {
  kind: string;
  index: number;
  hex: string;
  error: string;
}

/** The escaped error with its stack: the input decoded once more with stack traces on. */
function describeEscape(input: Uint8Array, first: unknown): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 20;
  try {
    decodeTelegram(input);
  } catch (again) {
    if (again instanceof Error && again.stack !== undefined) return again.stack;
  } finally {
    Error.stackTraceLimit = limit;
  }
  return errorText(first);
}

describe('M-Bus decoder fuzz', () => {
  it(`never lets anything but an MbusError escape (${4 * CASES_PER_KIND} cases, seed ${SEED})`, () => {
    const kinds: [string, () => Uint8Array][] = [
      ['random bytes', randomBytes],
      ['random long frame', randomLongFrame],
      ['random records', randomRecords],
      ['mutated vector', mutatedFrame],
    ];
    const escapes: Escape[] = [];
    const outcomes = { decoded: 0, refused: 0 };
    // Refusals are the common case here and need no stack trace; capturing one per MbusError would
    // cost more than the decoding. An escape is decoded again with traces on (describeEscape).
    const { stackTraceLimit } = Error;
    Error.stackTraceLimit = 0;
    const began = performance.now();
    for (let index = 0; index < CASES_PER_KIND && escapes.length < 5; index++) {
      for (const [kind, make] of kinds) {
        const input = make();
        try {
          const telegram = decodeTelegram(input);
          // What the CLI and the bridge do with it must work too.
          JSON.stringify(telegramJson(telegram));
          for (const record of telegram.records) {
            if (typeof record.value !== 'number' && typeof record.value !== 'string') {
              throw new TypeError(`record value of type ${typeof record.value}`);
            }
          }
          outcomes.decoded += 1;
        } catch (error) {
          if (error instanceof MbusError && error.message.length > 0) {
            outcomes.refused += 1;
            continue;
          }
          escapes.push({
            kind,
            index,
            hex: Buffer.from(input).toString('hex'),
            error: describeEscape(input, error),
          });
        }
      }
    }
    const elapsed = performance.now() - began;
    Error.stackTraceLimit = stackTraceLimit;
    console.info(
      `mbus fuzz: ${outcomes.decoded + outcomes.refused} cases (${outcomes.decoded} decoded, ${outcomes.refused} refused) in ${Math.round(elapsed)} ms, seed ${SEED}`,
    );
    expect(escapes).toEqual([]);
    expect(outcomes.decoded + outcomes.refused).toBe(4 * CASES_PER_KIND);
    // Both paths are exercised: plenty of frames get through, plenty are refused.
    expect(outcomes.decoded).toBeGreaterThan(CASES_PER_KIND / 2);
    expect(outcomes.refused).toBeGreaterThan(CASES_PER_KIND);
    expect(elapsed).toBeLessThan(TIME_LIMIT_MS);
  }, 30_000);
});
