// The vocabulary of the register tables (*Registers.ts, gathered in families.ts): what one value is,
// where it sits, how it is scaled, and what Home Assistant should call it. A family's table is a list of
// blocks (the reads, in order) holding its fields; the read plan (plan.ts), the decoder and the
// simulator's encoder (values.ts, registerImage.ts) all derive from that one list.

/** The units values are published in: SI, as the notes ask (§6), plus the counts and enums. */
export type Unit = 'V' | 'A' | 'W' | 'Wh' | 'VA' | 'Ah' | '°C' | '%' | 'Hz' | 'd';

/** Which part of the register(s) a number comes from. */
export type Part =
  /** The whole 16-bit register. */
  | 'word'
  /** The high byte (the first on the wire). */
  | 'high_byte'
  /** The low byte. */
  | 'low_byte'
  /** Two registers, high word first (notes §2.1). */
  | 'dword';

/**
 * How the raw bits are read: `signed` is two's complement of the part's width; `sign_magnitude` is the
 * controllers' temperature byte (bit 7 = minus, bits 0-6 = magnitude; renogy-bt `parse_temperature`).
 */
export type Signedness = 'unsigned' | 'signed' | 'sign_magnitude';

/**
 * Scales the sources disagree on (notes §9), chosen per device with DecodeOptions.scales; the default is
 * what the captured frames show.
 */
export interface UncertainScales {
  /**
   * §4.4/§9.1: battery cell voltage, 0.1 V (renogy-bt, the RNGPRO and RNGRBP captures) or 0.001 V
   * (renogy-ble's legacy default, synthetic tests only).
   */
  readonly cellVoltage: number;
  /** §4.4: battery pack current, 0.01 A (RNGPRO capture), 0.1 A on Pro RNGRBP/RNGC batteries (renogy-ble). */
  readonly batteryCurrent: number;
  /** §4.5/§9.2: inverter load current, 0.1 A (renogy-bt, RIV4835 capture) or 0.01 A (renogy-ble generic). */
  readonly inverterLoadCurrent: number;
}

export const DEFAULT_SCALES: UncertainScales = {
  cellVoltage: 0.1,
  batteryCurrent: 0.01,
  inverterLoadCurrent: 0.1,
};

export type StateClass = 'measurement' | 'total' | 'total_increasing';

/** What Home Assistant should make of a value (hints for the capabilities; the runtime decides). */
export interface HaHints {
  readonly deviceClass?: string;
  readonly stateClass?: StateClass;
  readonly category?: 'diagnostic' | 'config';
}

interface FieldBase {
  /** Key of the value in the device's state (snake_case). */
  readonly key: string;
  /** The first register it occupies. */
  readonly register: number;
  /** A human name, as the notes call it. */
  readonly name: string;
  readonly ha?: HaHints;
  /**
   * Only present when the count in `countKey` reaches `index` (cell 5 of a 4-cell battery is not
   * published, though its register reads 0).
   */
  readonly presentWhen?: { readonly countKey: string; readonly index: number };
}

export interface NumberField extends FieldBase {
  readonly type: 'number';
  readonly part: Part;
  readonly signedness: Signedness;
  /** The value is raw × scale; a name picks an uncertain one (see UncertainScales). */
  readonly scale: number | keyof UncertainScales;
  readonly unit?: Unit;
}

export interface TextField extends FieldBase {
  readonly type: 'text';
  readonly words: number;
  /** How the device pads ASCII: controllers put spaces in front, batteries NULs behind. */
  readonly padding: 'leading_spaces' | 'trailing_nul';
}

export interface EnumField extends FieldBase {
  readonly type: 'enum';
  readonly part: 'word' | 'high_byte' | 'low_byte';
  /** The state names by raw value; any other value decodes to `unknown` with a warning. */
  readonly states: Readonly<Record<number, string>>;
}

export interface FlagBit {
  /** Bit within the 16-bit register (0 = least significant). */
  readonly bit: number;
  readonly key: string;
  readonly name: string;
  /** The code the device's display shows (E01…), when there is one. */
  readonly code?: string;
  /** Home Assistant binary_sensor device class: `problem` for a fault, `power`/`running` for a state. */
  readonly deviceClass?: string;
}

/** A 16-bit register of independent bits, each published as a boolean. */
export interface FlagsField extends FieldBase {
  readonly type: 'flags';
  readonly bits: readonly FlagBit[];
}

export type Field = NumberField | TextField | EnumField | FlagsField;

/** How many registers a field spans. */
export function fieldWords(field: Field): number {
  if (field.type === 'text') return field.words;
  if (field.type === 'number' && field.part === 'dword') return 2;
  return 1;
}

/** One read of the plan: a block of registers and the fields in it. */
export interface Block {
  readonly name: string;
  readonly register: number;
  /** Registers read: from `register` to the end of its last field. */
  readonly words: number;
  /** `once` per connection (model, address), or `every_poll`. */
  readonly cadence: 'once' | 'every_poll';
  /** A device that answers it with an exception lacks it (older firmware, another model): skip, do not fail. */
  readonly optional: boolean;
  /** How often it is sent when no answer comes in time (1: once; the session ends at its timeout). */
  readonly attempts: number;
  readonly fields: readonly Field[];
}

export interface BlockOptions {
  readonly cadence?: Block['cadence'];
  readonly optional?: boolean;
  /** Start the read before the first field (renogy-ble reads battery info from 0x13F0). */
  readonly from?: number;
  /** Sent again when nothing answered in time; default 1. */
  readonly attempts?: number;
}

/** A block whose extent is that of its fields: the read covers exactly what is decoded. */
export function block(name: string, fields: readonly Field[], options: BlockOptions = {}): Block {
  const first = Math.min(...fields.map((field) => field.register));
  const register = options.from ?? first;
  const end = Math.max(...fields.map((field) => field.register + fieldWords(field)));
  return {
    name,
    register,
    words: end - register,
    cadence: options.cadence ?? 'every_poll',
    optional: options.optional ?? false,
    attempts: options.attempts ?? 1,
    fields,
  };
}

// --- field builders: a unit brings its Home Assistant hints with it

/** What a number is: its scale, unit and Home Assistant hints (unsigned unless `num` says otherwise). */
type Quantity = Pick<NumberField, 'unit' | 'ha' | 'signedness' | 'scale'>;

const measurement = (
  deviceClass: string | undefined,
  unit: Unit,
  scale: NumberField['scale'] = 1,
): Quantity => ({
  unit,
  scale,
  signedness: 'unsigned',
  ha: deviceClass === undefined ? { stateClass: 'measurement' } : { deviceClass, stateClass: 'measurement' },
});

export const volts = (scale: NumberField['scale'] = 1): Quantity => measurement('voltage', 'V', scale);
export const amps = (scale: NumberField['scale'] = 1): Quantity => measurement('current', 'A', scale);
export const watts = (): Quantity => measurement('power', 'W');
export const voltAmps = (): Quantity => measurement('apparent_power', 'VA');
export const hertz = (scale: number): Quantity => measurement('frequency', 'Hz', scale);
export const celsius = (scale = 1): Quantity => measurement('temperature', '°C', scale);
export const percent = (deviceClass?: string, scale = 1): Quantity => measurement(deviceClass, '%', scale);
export const ampHoursLevel = (scale = 1): Quantity => measurement(undefined, 'Ah', scale);
/** Energy and charge counters: Home Assistant's statistics need total_increasing (a daily one resets at midnight). */
export const wattHours = (): Quantity => ({
  ...measurement('energy', 'Wh'),
  ha: { deviceClass: 'energy', stateClass: 'total_increasing' },
});
export const ampHours = (): Quantity => ({
  ...measurement(undefined, 'Ah'),
  ha: { stateClass: 'total_increasing' },
});
export const days = (): Quantity => ({
  ...measurement('duration', 'd'),
  ha: { deviceClass: 'duration', stateClass: 'total_increasing', category: 'diagnostic' },
});
/** A count that only grows (cycles, full charges): a diagnostic. */
export const counter = (): Quantity => ({
  scale: 1,
  signedness: 'unsigned',
  ha: { stateClass: 'total_increasing', category: 'diagnostic' },
});
/** A number without a unit (an address, a count of cells): a diagnostic. */
export const plain = (): Quantity => ({
  scale: 1,
  signedness: 'unsigned',
  ha: { category: 'diagnostic' },
});

/** A number: `quantity` gives scale, unit and hints; `extra` overrides (part, signedness, presence). */
export function num(
  key: string,
  register: number,
  name: string,
  quantity: Quantity,
  extra: Partial<Pick<NumberField, 'part' | 'signedness' | 'presentWhen'>> = {},
): NumberField {
  return { type: 'number', key, register, name, part: 'word', ...quantity, ...extra };
}

export function text(
  key: string,
  register: number,
  name: string,
  words: number,
  padding: TextField['padding'],
): TextField {
  return { type: 'text', key, register, name, words, padding, ha: { category: 'diagnostic' } };
}

export function enumeration(
  key: string,
  register: number,
  name: string,
  states: EnumField['states'],
  part: EnumField['part'] = 'word',
  ha: HaHints = { deviceClass: 'enum' },
): EnumField {
  return { type: 'enum', key, register, name, states, part, ha };
}

export function flags(key: string, register: number, name: string, bits: readonly FlagBit[]): FlagsField {
  return { type: 'flags', key, register, name, bits };
}
