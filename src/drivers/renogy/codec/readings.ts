import { fail, hexRegister } from './errors.js';
import { type Field, type HaHints, type Unit } from './fields.js';
import type { ReadRequest, ReadResponse } from './modbus.js';
import { familyFields, type ModbusFamily, type RenogyFamily } from './families.js';
import { SHUNT_FIELDS } from './shunt.js';
import { decodeFields, type DecodedValues, type DecodeOptions } from './values.js';

// Values from a read's answer: every field of the family in the registers read, plus what is derived
// from them (a battery's SOC). And what each value is, for the Home Assistant capabilities.

/** Values computed from others: a battery has no SOC register (§4.4). */
function derive(family: ModbusFamily, decoded: DecodedValues): void {
  const { values } = decoded;
  if (family !== 'battery') return;
  const remaining = values.remaining_capacity;
  const full = values.full_capacity;
  if (typeof remaining === 'number' && typeof full === 'number' && full > 0) {
    values.battery_soc = Number(((remaining / full) * 100).toFixed(1));
  }
}

/** The values in `words`, read from `register` on a device of `family`. */
export function decodeRead(
  family: ModbusFamily,
  register: number,
  words: readonly number[],
  options: DecodeOptions = {},
): DecodedValues {
  const decoded = decodeFields(familyFields(family), register, words, options);
  derive(family, decoded);
  return decoded;
}

/** The values of a read answer, checked against the request it answers. */
export function decodeReadResponse(
  family: ModbusFamily,
  request: ReadRequest,
  response: ReadResponse,
  options: DecodeOptions = {},
): DecodedValues {
  if (response.words.length !== request.count) {
    fail(
      'bad_frame',
      `${response.words.length} registers answer a read of ${request.count} at ${hexRegister(request.register)}`,
    );
  }
  return decodeRead(family, request.register, response.words, options);
}

/** A value a device of a family publishes, for building its Home Assistant entities. */
export interface ValueDescription {
  readonly key: string;
  readonly name: string;
  /** number → sensor; text → diagnostic sensor; enum → enum sensor with `options`; binary → binary_sensor. */
  readonly type: 'number' | 'text' | 'enum' | 'binary';
  readonly unit?: Unit;
  readonly ha?: HaHints;
  readonly options?: readonly string[];
  /** Where it is read (none for the Smart Shunt: its values come in a frame, not registers). */
  readonly register?: number;
}

function describeField(field: Field): ValueDescription[] {
  const base = {
    key: field.key,
    name: field.name,
    register: field.register,
    ...(field.ha ? { ha: field.ha } : {}),
  };
  switch (field.type) {
    case 'number':
      return [{ ...base, type: 'number', ...(field.unit ? { unit: field.unit } : {}) }];
    case 'text':
      return [{ ...base, type: 'text' }];
    case 'enum':
      return [{ ...base, type: 'enum', options: [...Object.values(field.states), 'unknown'] }];
    case 'flags':
      return field.bits.map((bit) => ({
        key: bit.key,
        name: bit.name,
        type: 'binary' as const,
        register: field.register,
        ...(bit.deviceClass ? { ha: { deviceClass: bit.deviceClass } } : {}),
      }));
  }
}

/** Every value a device of `family` can publish (battery_soc included), once each. */
export function familyValues(family: RenogyFamily): ValueDescription[] {
  if (family === 'shunt') {
    return SHUNT_FIELDS.map(({ key, name, unit, ha }) => ({ key, name, type: 'number', unit, ha }));
  }
  const seen = new Set<string>();
  const described = familyFields(family)
    .flatMap(describeField)
    .filter((value) => !seen.has(value.key) && seen.add(value.key));
  if (family === 'battery') {
    described.push({
      key: 'battery_soc',
      name: 'State of charge (remaining / full capacity)',
      type: 'number',
      unit: '%',
      ha: { deviceClass: 'battery', stateClass: 'measurement' },
      register: 0x13b4,
    });
  }
  return described;
}
