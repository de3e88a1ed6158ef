import { describe, expect, it } from 'vitest';
import {
  decodeRead,
  decodeReadResponse,
  encodeRegisters,
  familyValues,
  MODBUS_FAMILIES,
  readHoldingRegisters,
  wordsOf,
} from '../src/drivers/renogy/codec/index.js';
import { bytes, capturedValues as values, ROVER_DYNAMIC, wordsOfCapture } from './helpers/renogyFrames.js';

// The smart battery and inverter maps of notes §4.4 and §4.5 against the captured frames of §7.2 (the
// RNGPRO ones with the battery's own display as ground truth), signed values at the edges, the disputed
// scales (§9), and the value descriptions the Home Assistant capabilities are built from.

describe('smart batteries (§4.4)', () => {
  it('§7.2.7: RNGPRO pack status, checked against the battery display: -2.01 A, 13.3 V, 476.910/500 Ah, 24 cycles, 95.4 %', () => {
    expect(values('battery', '§7.2.7 RNGPRO pack status')).toEqual({
      current: -2.01,
      voltage: 13.3,
      remaining_capacity: 476.91,
      full_capacity: 500,
      cycle_count: 24,
      battery_soc: 95.4,
    });
  });

  it('§7.2.7: RNGPRO cells: 4 cells at 3.3 V, 3 sensors at 23.3/22.7/22.6 °C, nothing for absent cells', () => {
    expect(values('battery', '§7.2.7 RNGPRO cell status')).toEqual({
      cell_count: 4,
      cell_voltage_1: 3.3,
      cell_voltage_2: 3.3,
      cell_voltage_3: 3.3,
      cell_voltage_4: 3.3,
      temperature_sensor_count: 3,
      cell_temperature_1: 23.3,
      cell_temperature_2: 22.7,
      cell_temperature_3: 22.6,
    });
  });

  it('§7.2.7: RNGPRO MOSFETs: charge on, discharge on, heater off', () => {
    expect(values('battery', '§7.2.7 RNGPRO MOSFET status')).toEqual({
      charge_mosfet: true,
      discharge_mosfet: true,
      heater: false,
    });
  });

  it('§7.2.8: hub batteries 0x30 and 0x31 (6-word pack read)', () => {
    expect(values('battery', '§7.2.8 hub battery 0x30')).toMatchObject({
      voltage: 50.4,
      remaining_capacity: 49.796,
      full_capacity: 49.997,
      battery_soc: 99.6,
    });
    expect(values('battery', '§7.2.8 hub battery 0x31')).toMatchObject({
      voltage: 50.4,
      remaining_capacity: 40.842,
      full_capacity: 49.995,
      battery_soc: 81.7,
    });
  });

  it('reads negative cell temperatures as signed tenths, and the disputed scales as configured (§9.1)', () => {
    const temperatures = decodeRead('battery', 0x1399, [2, 0xff9c, 0x8000]).values;
    expect(temperatures).toEqual({
      temperature_sensor_count: 2,
      cell_temperature_1: -10,
      cell_temperature_2: -3276.8,
    });
    expect(decodeRead('battery', 0x1389, [3312], { scales: { cellVoltage: 0.001 } }).values).toEqual({
      cell_voltage_1: 3.312,
    });
    expect(() => decodeRead('battery', 0x1389, [1], { scales: { cellVoltage: 0 } })).toThrow(
      /scale cellVoltage must be a number above 0 and at most 1000, got 0/,
    );
    // §4.4: Pro (RNGRBP) packs report current in 0.1 A.
    expect(decodeRead('battery', 0x13b2, [0xffec], { scales: { batteryCurrent: 0.1 } }).values).toEqual({
      current: -2,
    });
  });

  it('reads the model and serial NUL-padded, and leaves SOC out when the capacity is 0', () => {
    const registers = encodeRegisters('battery', { model: 'RBT100LFP12S-G', serial_number: 'ABC123' });
    const words = Array.from({ length: 28 }, (_, index) => registers.get(0x13f0 + index) ?? 0);
    // The info read (from 0x13F0) also covers the MOSFET registers 0x13F2-0x13F3: a register is a register.
    expect(decodeRead('battery', 0x13f0, words).values).toEqual({
      serial_number: 'ABC123',
      model: 'RBT100LFP12S-G',
      software_version: '',
      charge_mosfet: false,
      discharge_mosfet: false,
      heater: false,
    });
    expect(decodeRead('battery', 0x13b4, [0, 5, 0, 0]).values).toEqual({
      remaining_capacity: 0.005,
      full_capacity: 0,
    });
  });
});

describe('inverters (§4.5) against the RIV4835CSH1S captures', () => {
  it('§7.2.9 4000 × 10: AC in 113.5 V / 17.00 A, out 113.1 V / 0.30 A, 60.01 Hz, battery 51.2 V, 55.1 °C', () => {
    expect(values('inverter', '§7.2.9 RIV4835 4000 × 10')).toEqual({
      ac_input_voltage: 113.5,
      ac_input_current: 17,
      ac_output_voltage: 113.1,
      ac_output_current: 0.3,
      output_frequency: 60.01,
      battery_voltage: 51.2,
      temperature: 55.1,
      input_frequency: 60.01,
    });
  });

  it('§7.2.9 4327 × 7: charging at -49.5 A, constant voltage; discharging at +6.7 A, deactivated', () => {
    expect(values('inverter', '§7.2.9 RIV4835 4327 × 7 charging')).toEqual({
      battery_soc: 60,
      battery_current: -49.5,
      pv_voltage: 61.7,
      pv_current: 10.5,
      pv_power: 650,
      charging_state: 'constant_voltage',
      charging_power: 2535,
    });
    expect(values('inverter', '§7.2.9 RIV4835 4327 × 7 discharging')).toEqual({
      battery_soc: 42,
      battery_current: 6.7,
      pv_voltage: 50.5,
      pv_current: 0,
      pv_power: 0,
      charging_state: 'deactivated',
      charging_power: 0,
    });
  });

  it('§7.2.9 4408 × 6: load 0.2 A (0.1 A scale, §9.2), 20 W, 22 VA, line charging 36.9 A, 0 %', () => {
    expect(values('inverter', '§7.2.9 RIV4835 4408 × 6')).toEqual({
      load_current: 0.2,
      load_active_power: 20,
      load_apparent_power: 22,
      line_charging_current: 36.9,
      load_percentage: 0,
    });
    const { words } = wordsOfCapture('§7.2.9 RIV4835 4408 × 6');
    expect(
      decodeRead('inverter', 4408, words, { scales: { inverterLoadCurrent: 0.01 } }).values.load_current,
    ).toBe(0.02);
  });
});

describe('decodeReadResponse and the value descriptions', () => {
  it('refuses an answer whose length is not the read asked for', () => {
    const request = readHoldingRegisters(0xff, 0x0100, 34);
    expect(() =>
      decodeReadResponse('controller', request, { kind: 'read', deviceId: 0xff, words: [1, 2] }),
    ).toThrow(/2 registers answer a read of 34 at 0x0100/);
    const frame = bytes(ROVER_DYNAMIC);
    const response = { kind: 'read' as const, deviceId: 0xff, words: wordsOf(frame.subarray(3, 71)) };
    expect(decodeReadResponse('controller', request, response).values.battery_voltage).toBe(14.4);
  });

  it('describes every value once with SI units and Home Assistant hints', () => {
    const controller = familyValues('controller');
    const keys = controller.map((value) => value.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(controller.find((value) => value.key === 'power_generation_total')).toMatchObject({
      unit: 'Wh',
      ha: { deviceClass: 'energy', stateClass: 'total_increasing' },
    });
    expect(controller.find((value) => value.key === 'charging_state')).toMatchObject({
      type: 'enum',
      options: [
        'deactivated',
        'activated',
        'mppt',
        'equalizing',
        'boost',
        'floating',
        'current_limiting',
        'unknown',
      ],
    });
    expect(controller.find((value) => value.key === 'fault_load_short_circuit')).toMatchObject({
      type: 'binary',
      ha: { deviceClass: 'problem' },
    });
    expect(familyValues('battery').find((value) => value.key === 'battery_soc')).toMatchObject({ unit: '%' });
    const units = new Set(
      MODBUS_FAMILIES.flatMap((family) =>
        familyValues(family).flatMap((value) => (value.unit ? [value.unit] : [])),
      ),
    );
    expect([...units].sort()).toEqual(['%', 'A', 'Ah', 'Hz', 'V', 'VA', 'W', 'Wh', 'd', '°C']);
  });
});
