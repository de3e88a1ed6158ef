import { describe, expect, it } from 'vitest';
import {
  type BleReading,
  BleDecodeError,
  decodeAdvertisement,
  decodeAtc,
  decodeBthome,
  decodeRuuvi,
  encryptBthome,
} from '../src/drivers/ble/codec/index.js';
import { BTHOME_OBJECTS } from '../src/drivers/ble/codec/bthomeObjects.js';
import { seededRandom } from '../src/drivers/shared/random.js';

// Whatever arrives over the air, the BLE decoders answer with a reading or a BleDecodeError: never a
// TypeError, a RangeError from a Buffer read, NaN, or a reading whose values and metadata disagree.
// Inputs come from a seeded PRNG so a failure names its seed and case and can be replayed
// (BLE_FUZZ_SEED=… npx vitest run test/ble-codec-fuzz.test.ts):
//
//   random BTHome          random bytes behind a device info byte biased to version 2
//   BTHome objects         sequences of known object ids with right, short or random data
//   encrypted BTHome       valid encryptions of random object sequences, some with bytes flipped
//   mutated seeds          the hand-made frames below with bytes changed, inserted, deleted or cut
//   Ruuvi / ATC / pvvx     random and mutated fixed-size frames of every nearby length
//   advertisements         decodeAdvertisement with random service data UUIDs and manufacturer ids

const SEED = Number(process.env.BLE_FUZZ_SEED ?? 0x626c6531);
const CASES = 50_000;
const TIME_LIMIT_MS = 10_000;

const random = seededRandom(SEED);
const int = (below: number) => Math.floor(random() * below);
const byte = () => int(256);
const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
const bytes = (length: number) => Buffer.from(Array.from({ length }, byte));

const KEY = '231d39c1d7cc1ab1aee224cd096db932';
const MAC = 'A4:C1:38:8D:18:B2';
const OBJECT_IDS = [...BTHOME_OBJECTS.keys()];

/** Hand-made frames of every format (not the third-party vectors, which stay outside the repository). */
const SEEDS: readonly Buffer[] = [
  '4000 09 015d 02ca09 03bf13 0b102700 0c020c 1001 2101 3a01 3c0103 5084e76064',
  '44 53 0c48656c6c6f20576f726c6421 54 03010203 f0 0100 f1 00010204',
  '42 b2188d38c1a4 04138a01 0d120c 0e021c 57ea 58ea 62 4099dfff',
  '0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F',
  'a4c138112233 00ea 2d 57 0bab 2a',
  '332211 38c1a4 2909 d711 ab0b 57 2a 05',
].map((text) => Buffer.from(text.replace(/\s/g, ''), 'hex'));

function mutate(source: Buffer): Buffer {
  const data = [...source];
  for (let n = 1 + int(3); n > 0; n--) {
    const at = int(data.length + 1);
    const action = int(4);
    if (action === 0 && data.length > 0) data[Math.min(at, data.length - 1)] = byte();
    else if (action === 1) data.splice(at, 0, byte());
    else if (action === 2) data.splice(at, 1);
    else data.length = Math.min(data.length, at);
  }
  return Buffer.from(data);
}

function objectSequence(): Buffer {
  const parts: number[] = [];
  for (let n = int(8); n > 0; n--) {
    const object = BTHOME_OBJECTS.get(pick(OBJECT_IDS));
    if (!object) continue;
    parts.push(object.id);
    const variable = object.kind === 'text' || object.kind === 'raw';
    const length = variable ? int(20) : object.length;
    if (variable) parts.push(random() < 0.9 ? length : byte());
    // Mostly the right number of data bytes, sometimes one short (the frame then ends early).
    parts.push(...bytes(random() < 0.95 ? length : Math.max(0, length - 1)));
  }
  if (random() < 0.1) parts.push(byte());
  return Buffer.from(parts);
}

type Case = { kind: string; run: () => BleReading | undefined };

function nextCase(): Case {
  const kind = int(7);
  if (kind === 0) {
    const info = random() < 0.8 ? 0x40 | int(8) : byte();
    const data = Buffer.concat([Buffer.from([info]), bytes(int(30))]);
    return {
      kind: 'random BTHome',
      // Mostly a key only for encrypted payloads, as the driver has it; sometimes a plain payload with one.
      run: () => {
        const bindKey = info & 1 || random() < 0.1 ? KEY : undefined;
        return decodeBthome(data, { mac: MAC, bindKey, strict: random() < 0.2 });
      },
    };
  }
  if (kind === 1) {
    const data = Buffer.concat([Buffer.from([pick([0x40, 0x44])]), objectSequence()]);
    return { kind: 'BTHome objects', run: () => decodeBthome(data) };
  }
  if (kind === 2) {
    const data = encryptBthome(objectSequence(), {
      mac: MAC,
      bindKey: KEY,
      counter: int(2 ** 32),
      includeMac: random() < 0.3,
    });
    const damaged = random() < 0.3 ? mutate(data) : data;
    return { kind: 'encrypted BTHome', run: () => decodeBthome(damaged, { mac: MAC, bindKey: KEY }) };
  }
  if (kind === 3) {
    const seed = pick(SEEDS);
    const data = mutate(seed);
    const decoder = seed.length === 24 ? decodeRuuvi : seed.length <= 15 ? decodeAtc : decodeBthome;
    return { kind: 'mutated seed', run: () => decoder(data) };
  }
  if (kind === 4) {
    const data = Buffer.concat([Buffer.from([pick([5, 5, 5, byte()])]), bytes(20 + int(6))]);
    return { kind: 'Ruuvi', run: () => decodeRuuvi(data) };
  }
  if (kind === 5) {
    const data = bytes(pick([11, 12, 13, 13, 14, 15, 15, 16, 0]));
    return { kind: 'ATC/pvvx', run: () => decodeAtc(data) };
  }
  const uuid = pick(['0000fcd2-0000-1000-8000-00805f9b34fb', '181a', 'fcd2', 'feaa', '0x181A', 'nonsense']);
  const serviceData =
    random() < 0.7 ? { [uuid]: random() < 0.5 ? mutate(pick(SEEDS)) : bytes(int(20)) } : undefined;
  const manufacturerData = random() < 0.5 ? { [pick([0x0499, 0x004c])]: bytes(int(26)) } : undefined;
  return {
    kind: 'advertisement',
    run: () =>
      decodeAdvertisement({
        serviceData,
        manufacturerData,
        mac: MAC,
        bindKey: random() < 0.5 ? KEY : undefined,
      }),
  };
}

/** What a reading must look like, whatever the input: values and meta agree, numbers are finite. */
function wellFormed(reading: BleReading): string | undefined {
  for (const [key, value] of Object.entries(reading.values)) {
    if (value !== null && !['number', 'boolean', 'string'].includes(typeof value))
      return `${key} is ${typeof value}`;
    if (typeof value === 'number' && !Number.isFinite(value)) return `${key} is ${value}`;
    if (reading.meta[key] === undefined) return `${key} has no meta`;
  }
  if (Object.keys(reading.meta).length !== Object.keys(reading.values).length) return 'meta has extra keys';
  if (reading.packetId !== undefined && !Number.isInteger(reading.packetId))
    return 'packetId is not an integer';
  JSON.stringify(reading);
  return undefined;
}

describe('BLE decoders under fuzzing', () => {
  it(`answers ${CASES} random and mutated payloads with a reading or a BleDecodeError (seed ${SEED})`, () => {
    const started = Date.now();
    const outcomes = new Map<string, number>();
    let done = 0;
    for (; done < CASES && Date.now() - started < TIME_LIMIT_MS; done++) {
      const { kind, run } = nextCase();
      let outcome: string;
      try {
        const reading = run();
        const problem = reading === undefined ? undefined : wellFormed(reading);
        if (problem) throw new Error(`case ${done} (${kind}): ${problem}`);
        outcome = reading === undefined ? 'none' : 'reading';
      } catch (error) {
        if (!(error instanceof BleDecodeError)) {
          throw new Error(`case ${done} (${kind}, seed ${SEED}) escaped: ${String(error)}`, { cause: error });
        }
        expect(error.message.length).toBeGreaterThan(5);
        outcome = error.code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // A slow machine may stop early; it must still have covered a meaningful number of cases.
    expect(done).toBeGreaterThanOrEqual(Math.min(CASES, 10_000));
    // Both sides of every decoder were reached: readings and the main refusals.
    for (const outcome of [
      'not_encrypted',
      'reading',
      'none',
      'too_short',
      'bad_length',
      'bad_format',
      'bad_version',
      'decrypt_failed',
      'unknown_object',
    ]) {
      expect(outcomes.get(outcome) ?? 0, outcome).toBeGreaterThan(0);
    }
  });
});
