import type { JsonValue } from '../contract.js';
import { type Capability, numeric, readOnDemand, text, type ValueOptions } from '../shared/capabilities.js';
import { TIME_POINTS } from './readings.js';

// What a meter offers Home Assistant, built from its last reading (a meter says what it measures only
// when it is read): a read on demand (`get` with `{}` reads the meter now instead of at its next
// poll), and one sensor per record, with a unique id from the meter's id and the record's
// storage, tariff, subunit, function and quantity, so an entity survives renaming the device in the
// config and two meters never share one. Units become HA's: `m^3` → `m³`, and the device class follows
// the quantity (and the medium, for volumes: water or gas).

interface RecordFacts {
  key: string;
  quantity: string;
  unit: string;
  function: string;
  storage_number: number;
  tariff: number;
  device: number;
}

const HA_UNITS: Record<string, string> = {
  'm^3': 'm³',
  'm^3/h': 'm³/h',
  'm^3/min': 'm³/min',
  'm^3/s': 'm³/s',
};

type Classes = Pick<ValueOptions, 'deviceClass' | 'unit' | 'stateClass'>;

/**
 * Device and state class by normalised unit; counters (energy, volume) only grow. A time point is a
 * `timestamp` (date and time, published with the gateway's UTC offset) or a `date`: HA refuses a text
 * value for a sensor with a unit, and these two classes have none.
 */
function classesOf(record: RecordFacts, medium: string): Classes | undefined {
  const timePoint = TIME_POINTS[record.quantity];
  if (timePoint) return { deviceClass: timePoint };
  const unit = HA_UNITS[record.unit] ?? record.unit;
  const instantaneous = record.function === 'Instantaneous value' && record.storage_number === 0;
  const measurement = instantaneous ? 'measurement' : undefined;
  switch (record.unit) {
    case 'Wh':
    case 'kWh':
    case 'MWh':
    case 'MJ':
    case 'GJ':
      return { deviceClass: 'energy', unit, stateClass: instantaneous ? 'total_increasing' : undefined };
    case 'm^3': {
      const deviceClass = /gas/i.test(medium) ? 'gas' : /water/i.test(medium) ? 'water' : 'volume';
      return { deviceClass, unit, stateClass: instantaneous ? 'total_increasing' : undefined };
    }
    case 'W':
    case 'kW':
      return { deviceClass: 'power', unit, stateClass: measurement };
    case 'm^3/h':
    case 'm^3/min':
    case 'm^3/s':
      return { deviceClass: 'volume_flow_rate', unit, stateClass: measurement };
    case '°C':
      return { deviceClass: 'temperature', unit, stateClass: measurement };
    case 'K':
      // M-Bus has kelvin only for temperature differences (VIF 0x60-0x63). HA's `temperature` class
      // would convert 5 K as a temperature (about -268 °C); a difference gets no device class.
      return { unit, stateClass: measurement };
    case 'V':
      return { deviceClass: 'voltage', unit, stateClass: measurement };
    case 'A':
      return { deviceClass: 'current', unit, stateClass: measurement };
    case 's':
      return { deviceClass: 'duration', unit, stateClass: measurement };
    case 'bar':
      return { deviceClass: 'pressure', unit, stateClass: measurement };
    default:
      return undefined;
  }
}

function isRecordFacts(value: JsonValue): value is JsonValue & RecordFacts {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return (
    typeof value.key === 'string' && typeof value.quantity === 'string' && typeof value.unit === 'string'
  );
}

function stringField(state: JsonValue | undefined, key: string): string {
  if (state === null || typeof state !== 'object' || Array.isArray(state) || state === undefined) return '';
  const value = state[key];
  return typeof value === 'string' ? value : '';
}

/** The capabilities of a meter given its state (no sensors until it has been read once). */
export function mbusCapabilities(state: Record<string, JsonValue> | undefined): Capability[] {
  const capabilities: Capability[] = [readOnDemand()];
  const records = state?.records;
  if (!Array.isArray(records)) return capabilities;
  const meterId = stringField(state?.meter, 'id') || 'meter';
  const medium = stringField(state?.meter, 'medium');
  for (const record of records) {
    // Junk to a user: manufacturer blobs (DIF 0F), the "more records follow" marker (DIF 1F) and values
    // whose meaning only the manufacturer knows (VIF 7F/FF). They stay in the state and the readings.
    if (!isRecordFacts(record) || record.function === 'Manufacturer specific') continue;
    if (record.function === 'More records follow' || record.quantity === 'Manufacturer specific') continue;
    const classes = classesOf(record, medium);
    const historic = record.storage_number > 0;
    // Only a number has a unit in HA ('-' is libmbus's "no unit"); text and hex stay plain sensors.
    const isNumber = typeof state?.[record.key] === 'number';
    const plainUnit =
      isNumber && record.unit && record.unit !== '-' ? { unit: HA_UNITS[record.unit] ?? record.unit } : {};
    const options: ValueOptions = {
      objectId: `${meterId}_${record.key}`,
      name: entityName(record),
      ...(classes ?? plainUnit),
      ...(classes === undefined || historic ? { category: 'diagnostic' as const } : {}),
    };
    capabilities.push(isNumber ? numeric(record.key, options) : text(record.key, options));
  }
  return capabilities;
}

function entityName(record: RecordFacts): string {
  const parts = [record.quantity || 'Value'];
  if (record.function === 'Maximum value') parts.push('max');
  if (record.function === 'Minimum value') parts.push('min');
  if (record.function === 'Value during error state') parts.push('(error state)');
  if (record.storage_number > 0) parts.push(`storage ${record.storage_number}`);
  if (record.tariff > 0) parts.push(`tariff ${record.tariff}`);
  if (record.device > 0) parts.push(`subunit ${record.device}`);
  return parts.join(' ');
}

/** Manufacturer and model for HA's device registry, from the meter's header. */
export function mbusModel(
  state: Record<string, JsonValue> | undefined,
): { manufacturer: string; model: string } | undefined {
  const manufacturer = stringField(state?.meter, 'manufacturer');
  if (!manufacturer) return undefined;
  const medium = stringField(state?.meter, 'medium');
  const product = stringField(state?.meter, 'product_name');
  return { manufacturer, model: product || `${medium || 'M-Bus'} meter` };
}
