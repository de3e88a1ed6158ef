import {
  amps,
  ampHours,
  block,
  celsius,
  counter,
  days,
  enumeration,
  flags,
  num,
  percent,
  plain,
  text,
  volts,
  watts,
  wattHours,
  type Field,
  type FlagBit,
} from './fields.js';

// Charge controllers: Rover, Wanderer, Adventurer, Rover Elite (also SRNE ML, Rich Solar), notes §4.1.
// Reads as renogy-bt's RoverClient and renogy-ble: (0x000C, 8), (0x001A, 1), (0x0100, 34), (0xE004, 1).
// The DC-DC chargers (dcCharger.ts) share the system information and the first half of the dynamic block.

/** §4.1.1: the product model, 16 ASCII characters padded with spaces in front ("  RNG-CTRL-RVR40"). */
export const MODEL = text('model', 0x000c, 'Product model', 8, 'leading_spaces');
/** §4.1.1 / §2.3: the device's own Modbus address, in the low byte of 0x001A. */
export const ADDRESS = num('device_address', 0x001a, 'Device address', plain(), { part: 'low_byte' });

/**
 * §4.1.2, 0x0100-0x0103: the battery side; the DC-DC chargers name 0x0102 the combined charging current.
 * Both temperatures are sign-magnitude bytes of 0x0103 (controller high, battery low).
 */
export function batteryFields(currentName: string): readonly Field[] {
  return [
    num('battery_soc', 0x0100, 'Battery state of charge', percent('battery')),
    num('battery_voltage', 0x0101, 'Battery voltage', volts(0.1)),
    num('battery_current', 0x0102, currentName, amps(0.01)),
    num('controller_temperature', 0x0103, 'Controller temperature', celsius(), {
      part: 'high_byte',
      signedness: 'sign_magnitude',
    }),
    num('battery_temperature', 0x0103, 'Battery temperature', celsius(), {
      part: 'low_byte',
      signedness: 'sign_magnitude',
    }),
  ];
}

/** Volts (×0.1), amps (×0.01) and watts in three registers: the load (or alternator) at 0x0104, PV at 0x0107. */
export function voltsAmpsWatts(prefix: string, label: string, register: number): readonly Field[] {
  return [
    num(`${prefix}_voltage`, register, `${label} voltage`, volts(0.1)),
    num(`${prefix}_current`, register + 1, `${label} current`, amps(0.01)),
    num(`${prefix}_power`, register + 2, `${label} power`, watts()),
  ];
}

/** §4.1.2, 0x010B-0x011D: daily extremes and totals, as the DC-DC chargers have them too. */
export const DAILY_AND_TOTALS: readonly Field[] = [
  num('battery_min_voltage_today', 0x010b, 'Battery minimum voltage today', volts(0.1)),
  num('battery_max_voltage_today', 0x010c, 'Battery maximum voltage today', volts(0.1)),
  num('max_charging_current_today', 0x010d, 'Maximum charging current today', amps(0.01)),
  num('max_charging_power_today', 0x010f, 'Maximum charging power today', watts()),
  num('charging_amp_hours_today', 0x0111, 'Charge today', ampHours()),
  // §4.1.2 note 1 / §9.3: Wh, unscaled (renogy-bt's PVOutput v1, the ESPHome port); one table's ×0.1 is unverified.
  num('power_generation_today', 0x0113, 'Energy generated today', wattHours()),
  num('operating_days', 0x0115, 'Total operating days', days()),
  num('battery_over_discharges', 0x0116, 'Battery over-discharges', counter()),
  num('battery_full_charges', 0x0117, 'Battery full charges', counter()),
  num('total_charging_amp_hours', 0x0118, 'Total charge', ampHours(), { part: 'dword' }),
  num('power_generation_total', 0x011c, 'Total energy generated', wattHours(), { part: 'dword' }),
];

/** §4.1.3: the low byte of 0x0120 on a controller. */
export const CONTROLLER_CHARGING_STATES: Readonly<Record<number, string>> = {
  0: 'deactivated',
  1: 'activated',
  2: 'mppt',
  3: 'equalizing',
  4: 'boost',
  5: 'floating',
  6: 'current_limiting',
};

/**
 * §4.1.4: the fault bitmap is (0x0121 << 16) | 0x0122; 0x0122 is reserved on the Rover and outside the
 * 34-word read, so the bits are those of 0x0121 (B16-B31 of the 32-bit value). Bit 15 (E16) is
 * "reserved" in one source and "fan alarm" in another: published as `fault_e16`.
 */
const FAULTS: readonly [string, string][] = [
  ['battery_over_discharge', 'Battery over-discharge'],
  ['battery_over_voltage', 'Battery over-voltage'],
  ['battery_under_voltage', 'Battery under-voltage warning'],
  ['load_short_circuit', 'Load short circuit'],
  ['load_over_power', 'Load over-power or over-current'],
  ['controller_over_temperature', 'Controller temperature too high'],
  ['ambient_over_temperature', 'Ambient temperature too high'],
  ['pv_over_power', 'PV input over-power'],
  ['pv_short_circuit', 'PV input side short circuit'],
  ['pv_over_voltage', 'PV input side over-voltage'],
  ['pv_counter_current', 'Solar panel counter-current'],
  ['pv_working_point_over_voltage', 'Solar panel working-point over-voltage'],
  ['pv_reverse_polarity', 'Solar panel reversely connected'],
  ['anti_reverse_mos_short', 'Anti-reverse MOS short circuit'],
  ['charge_mos_short', 'Charge MOS short circuit'],
  ['e16', 'Reserved (fan alarm in one source)'],
];

export const CONTROLLER_FAULT_BITS: readonly FlagBit[] = FAULTS.map(([key, name], bit) => ({
  bit,
  key: `fault_${key}`,
  name,
  code: `E${String(bit + 1).padStart(2, '0')}`,
  deviceClass: 'problem',
}));

/**
 * The fault names set in a 32-bit bitmap (0x0121 << 16) | 0x0122, as §4.1.4 numbers them (B16 = E01);
 * for a caller that read 0x0122 too. Bits 0-15 are reserved and named `reserved_b<n>` when set.
 */
export function controllerFaults(bitmap: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (((bitmap >>> bit) & 1) === 0) continue;
    names.push(bit >= 16 ? (CONTROLLER_FAULT_BITS[bit - 16]?.key ?? `reserved_b${bit}`) : `reserved_b${bit}`);
  }
  return names;
}

/** §4.1.5: battery type, renogy-bt's controller numbering (the DC-DC chargers number it otherwise). */
export const CONTROLLER_BATTERY_TYPES: Readonly<Record<number, string>> = {
  1: 'open',
  2: 'sealed',
  3: 'gel',
  4: 'lithium',
  5: 'custom',
};

/** The load output: a bit of 0x0120 to read, register 0x010A to write (§4.2). */
export const LOAD_ON_BIT: FlagBit = { bit: 15, key: 'load_on', name: 'Load output on', deviceClass: 'power' };
export const LOAD_REGISTER = 0x010a;

export const CONTROLLER_BLOCKS = [
  block('model', [MODEL], { cadence: 'once', optional: true }),
  block('address', [ADDRESS], { cadence: 'once', optional: true }),
  block('dynamic', [
    ...batteryFields('Battery charging current'),
    ...voltsAmpsWatts('load', 'Load', 0x0104),
    ...voltsAmpsWatts('pv', 'Solar', 0x0107),
    ...DAILY_AND_TOTALS,
    num('max_discharging_current_today', 0x010e, 'Maximum discharging current today', amps(0.01)),
    num('max_discharging_power_today', 0x0110, 'Maximum discharging power today', watts()),
    num('discharging_amp_hours_today', 0x0112, 'Discharge today', ampHours()),
    num('power_consumption_today', 0x0114, 'Energy consumed today', wattHours()),
    num('total_discharging_amp_hours', 0x011a, 'Total discharge', ampHours(), { part: 'dword' }),
    num('power_consumption_total', 0x011e, 'Total energy consumed', wattHours(), { part: 'dword' }),
    flags('load', 0x0120, 'Load status', [LOAD_ON_BIT]),
    enumeration('charging_state', 0x0120, 'Charging state', CONTROLLER_CHARGING_STATES, 'low_byte'),
    flags('faults', 0x0121, 'Faults', CONTROLLER_FAULT_BITS),
  ]),
  block(
    'battery_type',
    [
      enumeration('battery_type', 0xe004, 'Battery type', CONTROLLER_BATTERY_TYPES, 'word', {
        deviceClass: 'enum',
        category: 'diagnostic',
      }),
    ],
    { cadence: 'once', optional: true },
  ),
] as const;
