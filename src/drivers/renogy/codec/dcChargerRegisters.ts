import { block, enumeration, flags, num, watts, type Block, type FlagBit } from './fields.js';
import { ADDRESS, batteryFields, DAILY_AND_TOTALS, MODEL, voltsAmpsWatts } from './controllerRegisters.js';

// DC-DC chargers (DCC30S, DCC50S; models like RBC50D1S-G1), notes §4.3. The dynamic block is the
// controller's with the load fields standing for the alternator (starter battery) input; the state
// block 0x0120-0x0122 has two fault words that the Renogy spreadsheet names (not renogy-bt's parse_state,
// which the notes show reads the wrong bytes). Reads as renogy-bt: (0x0100, 30) and (0x0120, 3); the
// registers 0x0124-0x0126 (renogy-ble's 8-word read) are a separate optional read, because older units
// may not have them (§9.6) and an exception must not cost the state block. G6 units never answer a read
// at 0x0120: they read 0x0100 × 34 instead and have nothing above 0x0121 (dcChargerBlocks).

/** §4.3: 0x0120 low byte on a DC-DC charger. */
export const DCC_CHARGING_STATES: Readonly<Record<number, string>> = {
  0: 'deactivated',
  2: 'mppt',
  3: 'equalizing',
  4: 'boost',
  5: 'floating',
  6: 'current_limiting',
  8: 'alternator_direct',
};

/** §4.1.5: the DC-DC chargers' battery type numbering (the spreadsheet, renogy-ble's DCC map). */
const DCC_BATTERY_TYPES: Readonly<Record<number, string>> = {
  0: 'custom',
  1: 'open',
  2: 'sealed',
  3: 'gel',
  4: 'lithium',
};

/** §4.3 charging mode, 0x0125 (renogy-ble). */
const DCC_CHARGING_MODES: Readonly<Record<number, string>> = {
  0: 'standby',
  1: 'alternator_to_house',
  2: 'house_to_starter',
  3: 'solar_to_house',
  4: 'solar_and_alternator_to_house',
  5: 'solar_to_starter',
};

const fault = (bit: number, key: string, name: string): FlagBit => ({
  bit,
  key: `fault_${key}`,
  name,
  deviceClass: 'problem',
});

/** §4.3 0x0121: the high fault word. */
const HIGH_FAULTS: readonly FlagBit[] = [
  fault(4, 'controller_over_temperature_2', 'Controller over-temperature 2'),
  fault(5, 'alternator_over_current', 'Alternator input over-current'),
  fault(8, 'alternator_over_voltage', 'Alternator input over-voltage'),
  fault(9, 'starter_reverse_polarity', 'Starter battery reverse polarity'),
  fault(10, 'bms_over_charge', 'BMS over-charge protection'),
  fault(11, 'low_temperature_charge_stop', 'Battery stopped charging: low temperature'),
];

/** §4.3 0x0122: the low fault word. */
const LOW_FAULTS: readonly FlagBit[] = [
  fault(0, 'battery_over_discharge', 'Battery over-discharged'),
  fault(1, 'battery_over_voltage', 'Battery over-voltage'),
  fault(2, 'battery_under_voltage', 'Battery under-voltage warning'),
  fault(5, 'controller_over_temperature', 'Controller over-temperature'),
  fault(6, 'battery_over_temperature', 'Battery over-temperature'),
  fault(7, 'solar_over_current', 'Solar input over-current'),
  fault(9, 'solar_over_voltage', 'Solar input over-voltage'),
  fault(12, 'solar_reverse_polarity', 'Solar reverse polarity'),
];

const DYNAMIC = [
  ...batteryFields('Combined charging current (solar + alternator)'),
  ...voltsAmpsWatts('alternator', 'Alternator', 0x0104),
  ...voltsAmpsWatts('pv', 'Solar', 0x0107),
  ...DAILY_AND_TOTALS,
];

const CHARGING_STATE = enumeration(
  'charging_state',
  0x0120,
  'Charging state',
  DCC_CHARGING_STATES,
  'low_byte',
);
const HIGH_FAULT_WORD = flags('faults_high', 0x0121, 'Faults (0x0121)', HIGH_FAULTS);

const IDENTITY = [
  block('model', [MODEL], { cadence: 'once', optional: true }),
  block('address', [ADDRESS], { cadence: 'once', optional: true }),
];

const BATTERY_TYPE = block(
  'battery_type',
  [
    enumeration('battery_type', 0xe004, 'Battery type', DCC_BATTERY_TYPES, 'word', {
      deviceClass: 'enum',
      category: 'diagnostic',
    }),
  ],
  { cadence: 'once', optional: true },
);

export const DC_CHARGER_BLOCKS: readonly Block[] = [
  ...IDENTITY,
  block('dynamic', DYNAMIC),
  block('state', [
    CHARGING_STATE,
    HIGH_FAULT_WORD,
    flags('faults_low', 0x0122, 'Faults (0x0122)', LOW_FAULTS),
  ]),
  block(
    'output',
    [
      num('output_power', 0x0124, 'Output power', watts()),
      enumeration('charging_mode', 0x0125, 'Charging mode', DCC_CHARGING_MODES),
      flags('ignition', 0x0126, 'Ignition', [
        { bit: 0, key: 'ignition', name: 'Ignition', deviceClass: 'power' },
      ]),
    ],
    { optional: true },
  ),
  BATTERY_TYPE,
];

/** G6 hardware (§4.3): one 34-word read covers the dynamic block and 0x0120-0x0121; nothing above. */
export const DC_CHARGER_G6_BLOCKS: readonly Block[] = [
  ...IDENTITY,
  block('dynamic', [...DYNAMIC, CHARGING_STATE, HIGH_FAULT_WORD]),
  BATTERY_TYPE,
];
