import {
  ampHoursLevel,
  amps,
  block,
  celsius,
  counter,
  flags,
  num,
  plain,
  text,
  volts,
  type Field,
} from './fields.js';

// Smart lithium batteries, notes §4.4: on a BT-2 (RBT100LFP12S, RBT50LFP48S), with built-in BLE
// (RBT100LFP12-BT), Pro (RNGRBP) and RNGPRO. Reads: cells and temperatures as one 34-word read at 0x1388
// (renogy-ble; renogy-bt reads the same registers as 17 + 17), the pack status 0x13B2 × 7 (the 7th word
// is the cycle count; a Communication Hub reads 6), the MOSFET status 0x13EC × 8, the device
// information 0x13F0 × 28 (serial, model, firmware) and the address 0x1467.
// There is no SOC register: SOC is remaining / full capacity (derived in decode.ts).

const MAX_CELLS = 16;

/** Cell voltage n (1-16): 0x1389 + n - 1; the scale is the disputed one (§9.1). */
const CELL_VOLTAGES: readonly Field[] = Array.from({ length: MAX_CELLS }, (_, index) =>
  num(`cell_voltage_${index + 1}`, 0x1389 + index, `Cell ${index + 1} voltage`, volts('cellVoltage'), {
    presentWhen: { countKey: 'cell_count', index: index + 1 },
  }),
);

/** Temperature sensor n (1-16): 0x139A + n - 1, signed tenths of a degree. */
const CELL_TEMPERATURES: readonly Field[] = Array.from({ length: MAX_CELLS }, (_, index) =>
  num(`cell_temperature_${index + 1}`, 0x139a + index, `Temperature ${index + 1}`, celsius(0.1), {
    signedness: 'signed',
    presentWhen: { countKey: 'temperature_sensor_count', index: index + 1 },
  }),
);

/** The pack's device address register (§2.3: 5223). */
export const BATTERY_ADDRESS = num('device_address', 0x1467, 'Device address', plain());

export const BATTERY_BLOCKS = [
  block(
    'device_info',
    [
      text('serial_number', 0x13f6, 'Serial number', 8, 'trailing_nul'),
      text('model', 0x1402, 'Model', 8, 'trailing_nul'),
      text('software_version', 0x140a, 'Software version', 2, 'trailing_nul'),
    ],
    { cadence: 'once', optional: true, from: 0x13f0 },
  ),
  block('address', [BATTERY_ADDRESS], { cadence: 'once', optional: true }),
  block('cells', [
    num('cell_count', 0x1388, 'Number of cells', plain()),
    ...CELL_VOLTAGES,
    num('temperature_sensor_count', 0x1399, 'Number of temperature sensors', plain()),
    ...CELL_TEMPERATURES,
  ]),
  block('pack', [
    // Positive = charging, negative = discharging (RNGPRO capture: -2.01 A while discharging).
    num('current', 0x13b2, 'Pack current', amps('batteryCurrent'), { signedness: 'signed' }),
    num('voltage', 0x13b3, 'Pack voltage', volts(0.1)),
    num('remaining_capacity', 0x13b4, 'Remaining capacity', ampHoursLevel(0.001), { part: 'dword' }),
    num('full_capacity', 0x13b6, 'Full capacity', ampHoursLevel(0.001), { part: 'dword' }),
    num('cycle_count', 0x13b8, 'Cycle count', counter()),
  ]),
  // renogy-ble: frame offset 16 (low byte of 0x13F2) bits 1/2, offset 17 (high byte of 0x13F3) bit 5.
  block(
    'mosfet',
    [
      flags('mosfets', 0x13f2, 'MOSFET status', [
        { bit: 1, key: 'charge_mosfet', name: 'Charge MOSFET on', deviceClass: 'power' },
        { bit: 2, key: 'discharge_mosfet', name: 'Discharge MOSFET on', deviceClass: 'power' },
      ]),
      flags('heater', 0x13f3, 'Heater status', [
        { bit: 13, key: 'heater', name: 'Heater on', deviceClass: 'heat' },
      ]),
    ],
    { from: 0x13ec, optional: true },
  ),
] as const;
