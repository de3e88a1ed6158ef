import { fail } from './errors.js';
import { bytesOfWords } from './modbus.js';
import { DEFAULT_SCALES, fieldWords, type Field, type NumberField, type UncertainScales } from './fields.js';

// Fields to values and back. Decoding takes the words of a read and the register the read started at,
// and decodes every field of the table that lies wholly inside it, so a frame decodes by register
// address whichever block layout read it (renogy-bt's 17+17 battery reads or renogy-ble's 34, a hub's
// 6-word pack read). Encoding, for the simulator, writes values into registers with the same fields.

export type RenogyValue = number | string | boolean;

export interface DecodeOptions {
  /** Where the sources disagree on a scale (notes §9): per device, from config or the advertised name. */
  readonly scales?: Partial<UncertainScales>;
}

export interface DecodedValues {
  readonly values: Record<string, RenogyValue>;
  /** What decoded but looks wrong (an enum value no source names), for the log. */
  readonly warnings: string[];
}

/** The scale a field uses under `options`. */
export function scaleOf(field: NumberField, options: DecodeOptions = {}): number {
  if (typeof field.scale === 'number') return field.scale;
  const scale = options.scales?.[field.scale] ?? DEFAULT_SCALES[field.scale];
  if (!(scale > 0 && scale <= 1000))
    fail('bad_argument', `scale ${field.scale} must be a number above 0 and at most 1000, got ${scale}`);
  return scale;
}

/** raw × scale without binary noise (14.4, not 14.400000000000002). */
function scaled(raw: number, scale: number): number {
  const decimals = Math.max(0, Math.ceil(-Math.log10(scale) - 1e-9));
  return Number((raw * scale).toFixed(decimals));
}

function partWidth(field: NumberField): number {
  if (field.part === 'dword') return 32;
  return field.part === 'word' ? 16 : 8;
}

function rawPart(part: NumberField['part'], words: readonly number[], index: number): number {
  const word = words[index] ?? 0;
  if (part === 'high_byte') return word >>> 8;
  if (part === 'low_byte') return word & 0xff;
  if (part === 'dword') return (word * 0x10000 + (words[index + 1] ?? 0)) >>> 0;
  return word;
}

function signedRaw(field: NumberField, raw: number): number {
  const width = partWidth(field);
  const top = 2 ** (width - 1);
  if (field.signedness === 'signed') return raw >= top ? raw - 2 * top : raw;
  if (field.signedness === 'sign_magnitude') return raw >= top ? -(raw - top) : raw;
  return raw;
}

/** Printable ASCII of the registers, without the padding either end. */
function textOf(words: readonly number[]): string {
  return Array.from(bytesOfWords(words), (byte) =>
    byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '\0',
  )
    .join('')
    .replace(/^[\0 ]+|[\0 ]+$/g, '')
    .replace(/\0/g, '?');
}

/** Every field of `fields` inside the read of `words.length` registers from `start`, decoded. */
export function decodeFields(
  fields: readonly Field[],
  start: number,
  words: readonly number[],
  options: DecodeOptions = {},
): DecodedValues {
  const values: Record<string, RenogyValue> = {};
  const warnings: string[] = [];
  const inside = fields.filter(
    (field) => field.register >= start && field.register + fieldWords(field) <= start + words.length,
  );
  for (const field of inside) {
    const index = field.register - start;
    switch (field.type) {
      case 'number':
        values[field.key] = scaled(
          signedRaw(field, rawPart(field.part, words, index)),
          scaleOf(field, options),
        );
        break;
      case 'text':
        values[field.key] = textOf(words.slice(index, index + field.words));
        break;
      case 'enum': {
        const raw = rawPart(field.part, words, index);
        const state = field.states[raw];
        if (state === undefined) warnings.push(`${field.key}: value ${raw} is not a known state`);
        values[field.key] = state ?? 'unknown';
        break;
      }
      case 'flags':
        for (const bit of field.bits) values[bit.key] = ((words[index] ?? 0) & (1 << bit.bit)) !== 0;
        break;
    }
  }
  // A cell or sensor beyond the count the device reports reads 0: not a value (only when the count is here).
  for (const field of inside) {
    const count = field.presentWhen && values[field.presentWhen.countKey];
    if (typeof count === 'number' && field.presentWhen && field.presentWhen.index > count)
      delete values[field.key];
  }
  return { values, warnings };
}

// --- encoding (the simulator's side)

function rawOf(field: NumberField, value: number, options: DecodeOptions): number {
  const raw = Math.round(value / scaleOf(field, options));
  const width = partWidth(field);
  const limit = 2 ** width;
  const top = limit / 2;
  const [min, max] = field.signedness === 'unsigned' ? [0, limit - 1] : [-(top - 1), top - 1];
  if (raw < min || raw > max)
    fail('bad_argument', `${field.key} = ${value} does not fit ${field.name} (${width} bits)`);
  if (raw >= 0) return raw;
  return field.signedness === 'sign_magnitude' ? top - raw : limit + raw;
}

function textWords(field: Field & { type: 'text' }, value: string): number[] {
  const size = field.words * 2;
  if (value.length > size || /[^\x20-\x7e]/.test(value)) {
    fail('bad_argument', `${field.key} must be at most ${size} printable ASCII characters, got "${value}"`);
  }
  const padded = field.padding === 'leading_spaces' ? value.padStart(size, ' ') : value.padEnd(size, '\0');
  const bytes = Buffer.from(padded, 'latin1');
  return Array.from({ length: field.words }, (_, index) => bytes.readUInt16BE(index * 2));
}

function expect<T extends RenogyValue>(
  field: { key: string },
  value: RenogyValue | undefined,
  kind: string,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== typeof fallback)
    fail('bad_argument', `${field.key} must be a ${kind}, got ${JSON.stringify(value)}`);
  return value as T;
}

/**
 * The register words that hold `values` under `fields` (a value not given is 0, "" or false). Several
 * fields may share a register (a temperature in each byte, the load bit beside the charging state).
 */
export function encodeFields(
  fields: readonly Field[],
  values: Readonly<Record<string, RenogyValue>>,
  options: DecodeOptions = {},
): Map<number, number> {
  const words = new Map<number, number>();
  const put = (register: number, bits: number): void => {
    words.set(register, ((words.get(register) ?? 0) | bits) & 0xffff);
  };
  for (const field of fields) {
    switch (field.type) {
      case 'number': {
        const raw = rawOf(field, expect(field, values[field.key], 'number', 0), options);
        if (field.part === 'dword') {
          put(field.register, Math.floor(raw / 0x10000));
          put(field.register + 1, raw & 0xffff);
        } else put(field.register, field.part === 'high_byte' ? raw << 8 : raw);
        break;
      }
      case 'text':
        textWords(field, expect(field, values[field.key], 'string', '')).forEach((word, index) =>
          put(field.register + index, word),
        );
        break;
      case 'enum': {
        const name = expect(field, values[field.key], 'string', field.states[0] ?? '');
        const entry = Object.entries(field.states).find(([, state]) => state === name);
        const raw = entry
          ? Number(entry[0])
          : name === ''
            ? 0
            : fail('bad_argument', `${field.key}: no state "${name}"`);
        put(field.register, field.part === 'high_byte' ? raw << 8 : raw);
        break;
      }
      case 'flags':
        put(field.register, 0);
        for (const bit of field.bits)
          if (expect(bit, values[bit.key], 'boolean', false)) put(field.register, 1 << bit.bit);
        break;
    }
  }
  return words;
}
