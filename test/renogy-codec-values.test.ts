import { describe, expect, it } from 'vitest';
import {
  controllerFaults,
  decodeRead,
  decodeReadResponse,
  encodeReadResponse,
  encodeRegisters,
  familyValues,
  MODBUS_FAMILIES,
  readHoldingRegisters,
  ResponseAssembler,
  wordsOf,
  type ModbusFamily,
} from '../src/drivers/renogy/codec/index.js';
import { formatHex } from '../src/drivers/shared/hex.js';
import {
  bytes,
  CAPTURED_RESPONSES,
  CONSTRUCTED_DYNAMIC,
  DCC50S_STATUS_NO_CRC,
  ROVER_DYNAMIC,
} from './helpers/renogyFrames.js';

// The register maps of notes §4 against the captured frames of §7.2 (values as the notes decode them,
// several with the device's own display as ground truth), the constructed §7.3 frame round trip, and the
// scaling and signedness at the edges. The decoder is checked against the captures, never against the
// encoder.

/** The words of a captured answer, through the assembler (so CRC and length are checked too). */
function wordsOfCapture(source: string): { register: number; words: readonly number[] } {
  const capture = CAPTURED_RESPONSES.find((entry) => entry.source === source);
  if (!capture) throw new Error(`no capture "${source}"`);
  const result = new ResponseAssembler(
    readHoldingRegisters(capture.deviceId, capture.register, capture.count),
  ).push(bytes(capture.hex));
  if (result.status !== 'complete' || result.response.kind !== 'read')
    throw new Error(`${source}: ${result.status}`);
  return { register: capture.register, words: result.response.words };
}

const values = (family: ModbusFamily, source: string) => {
  const { register, words } = wordsOfCapture(source);
  return decodeRead(family, register, words).values;
};

describe('charge controller (§4.1) against the Rover captures', () => {
  it('§7.2.1: the model, leading spaces stripped', () => {
    expect(values('controller', '§7.2.1 Rover model')).toEqual({ model: 'RNG-CTRL-RVR40' });
  });

  it('§7.2.2: the device address 16 from the low byte of 0x001A', () => {
    expect(values('controller', '§7.2.2 Rover address')).toEqual({ device_address: 16 });
  });

  it('§7.2.3: the dynamic block, every value the notes list', () => {
    expect(values('controller', '§7.2.3 Rover dynamic block')).toEqual({
      battery_soc: 100,
      battery_voltage: 14.4,
      battery_current: 0.04,
      controller_temperature: 14,
      battery_temperature: 25,
      load_voltage: 0,
      load_current: 0,
      load_power: 0,
      pv_voltage: 23.2,
      pv_current: 0.04,
      pv_power: 1,
      battery_min_voltage_today: 14.3,
      battery_max_voltage_today: 14.5,
      max_charging_current_today: 0.17,
      max_discharging_current_today: 0,
      max_charging_power_today: 1,
      max_discharging_power_today: 0,
      charging_amp_hours_today: 0,
      discharging_amp_hours_today: 0,
      power_generation_today: 0,
      power_consumption_today: 0,
      operating_days: 555,
      battery_over_discharges: 1,
      battery_full_charges: 0,
      total_charging_amp_hours: 4988,
      total_discharging_amp_hours: 0,
      power_generation_total: 65936,
      power_consumption_total: 0,
      load_on: false,
      charging_state: 'boost',
      fault_battery_over_discharge: false,
      fault_battery_over_voltage: false,
      fault_battery_under_voltage: false,
      fault_load_short_circuit: false,
      fault_load_over_power: false,
      fault_controller_over_temperature: false,
      fault_ambient_over_temperature: false,
      fault_pv_over_power: false,
      fault_pv_short_circuit: false,
      fault_pv_over_voltage: false,
      fault_pv_counter_current: false,
      fault_pv_working_point_over_voltage: false,
      fault_pv_reverse_polarity: false,
      fault_anti_reverse_mos_short: false,
      fault_charge_mos_short: false,
      fault_e16: false,
    });
  });

  it('§7.2.4: battery type 4 is lithium, 1 is open (controller numbering)', () => {
    expect(values('controller', '§7.2.4 Rover battery type (lithium)')).toEqual({ battery_type: 'lithium' });
    expect(values('controller', '§7.2.4 battery type 1 (Signal K comment)')).toEqual({
      battery_type: 'open',
    });
  });

  it('§7.3: the constructed frame decodes to renogy-bt README values and encodes back byte for byte', () => {
    const frame = bytes(CONSTRUCTED_DYNAMIC);
    const decoded = decodeRead('controller', 0x0100, wordsOf(frame.subarray(3, frame.length - 2))).values;
    const readme = {
      battery_soc: 87,
      battery_voltage: 12.9,
      battery_current: 2.58,
      controller_temperature: 33,
      battery_temperature: 25,
      load_on: false,
      pv_voltage: 17.1,
      pv_current: 2.04,
      pv_power: 35,
      max_charging_power_today: 143,
      charging_amp_hours_today: 34,
      discharging_amp_hours_today: 34,
      power_generation_today: 432,
      power_generation_total: 426038,
      charging_state: 'mppt',
    };
    expect(decoded).toMatchObject(readme);
    const registers = encodeRegisters('controller', readme);
    const words = Array.from({ length: 34 }, (_, index) => registers.get(0x0100 + index) ?? 0);
    expect(formatHex(encodeReadResponse(0xff, words))).toBe(formatHex(frame));
  });

  it('decodes the sign-magnitude temperature bytes at their edges (renogy-bt parse_temperature)', () => {
    const temperatures = (word: number) => {
      const { controller_temperature, battery_temperature } = decodeRead('controller', 0x0103, [word]).values;
      return [controller_temperature, battery_temperature];
    };
    expect(temperatures(0x8519)).toEqual([-5, 25]);
    expect(temperatures(0xff7f)).toEqual([-127, 127]);
    expect(temperatures(0x8000)).toEqual([0, 0]);
    expect(temperatures(0x0181)).toEqual([1, -1]);
    const encoded = encodeRegisters('controller', { controller_temperature: -5, battery_temperature: -20 });
    expect(encoded.get(0x0103)).toBe(0x8594);
  });

  it('names each fault bit of 0x0121 (§4.1.4) and reads the load bit and charging state of 0x0120', () => {
    const at = (word120: number, word121: number) => decodeRead('controller', 0x0120, [word120, word121]);
    const faults = (word: number) =>
      Object.entries(at(0x0000, word).values)
        .filter(([key, value]) => key.startsWith('fault_') && value === true)
        .map(([key]) => key);
    expect(faults(0x0001)).toEqual(['fault_battery_over_discharge']);
    expect(faults(0x0008)).toEqual(['fault_load_short_circuit']);
    expect(faults(0x4000)).toEqual(['fault_charge_mos_short']);
    expect(faults(0x8000)).toEqual(['fault_e16']);
    expect(faults(0xffff)).toHaveLength(16);
    expect(at(0x8004, 0).values).toMatchObject({ load_on: true, charging_state: 'boost' });
    expect(at(0x0002, 0).values).toMatchObject({ load_on: false, charging_state: 'mppt' });
    const unknown = at(0x0009, 0);
    expect(unknown.values.charging_state).toBe('unknown');
    expect(unknown.warnings).toEqual(['charging_state: value 9 is not a known state']);
  });

  it('maps a 32-bit fault bitmap (0x0121 << 16 | 0x0122) to names: B16 = E01, B0-B15 reserved', () => {
    expect(controllerFaults(0x0001_0000)).toEqual(['fault_battery_over_discharge']);
    expect(controllerFaults(0x8000_0000)).toEqual(['fault_e16']);
    expect(controllerFaults(0x0006_0001)).toEqual([
      'reserved_b0',
      'fault_battery_over_voltage',
      'fault_battery_under_voltage',
    ]);
    expect(controllerFaults(0)).toEqual([]);
  });

  it('reads 32-bit totals high word first, to the top of the range', () => {
    expect(decodeRead('controller', 0x011c, [0xffff, 0xffff]).values).toEqual({
      power_generation_total: 4294967295,
    });
    expect(decodeRead('controller', 0x011c, [0x0001, 0x0000]).values).toEqual({
      power_generation_total: 65536,
    });
  });

  it('decodes only the fields wholly inside the read', () => {
    expect(decodeRead('controller', 0x011d, [1, 2, 3]).values).toEqual({
      power_consumption_total: 0x00020003,
    });
  });
});

describe('DC-DC chargers (§4.3)', () => {
  it('§7.2.5: DCC30S 0x0100 × 7 (neilsheps)', () => {
    expect(values('dc_charger', '§7.2.5 DCC30S 0x0100 × 7')).toEqual({
      battery_soc: 100,
      battery_voltage: 13.3,
      battery_current: 0,
      controller_temperature: 16,
      battery_temperature: 16,
      alternator_voltage: 12.2,
      alternator_current: 0,
      alternator_power: 0,
    });
  });

  it('§7.2.6: DCC50S status 0x0120 × 7: mppt, no faults, 267 W, solar+alternator, ignition off', () => {
    const frame = bytes(DCC50S_STATUS_NO_CRC);
    const decoded = decodeRead('dc_charger', 0x0120, wordsOf(frame.subarray(3)));
    expect(decoded.values).toMatchObject({
      charging_state: 'mppt',
      output_power: 267,
      charging_mode: 'solar_and_alternator_to_house',
      ignition: false,
    });
    const faults = Object.entries(decoded.values).filter(([key]) => key.startsWith('fault_'));
    expect(faults.length).toBe(14);
    expect(faults.every(([, value]) => value === false)).toBe(true);
  });

  it('reads the spreadsheet fault bits of 0x0121 and 0x0122, and state 8 as alternator_direct', () => {
    const decoded = decodeRead('dc_charger', 0x0120, [0x0008, 0x0020, 0x1001]).values;
    expect(decoded.charging_state).toBe('alternator_direct');
    const set = Object.entries(decoded)
      .filter(([key, value]) => key.startsWith('fault_') && value === true)
      .map(([key]) => key);
    expect(set).toEqual([
      'fault_alternator_over_current',
      'fault_battery_over_discharge',
      'fault_solar_reverse_polarity',
    ]);
  });

  it('numbers the battery type as the DCC spreadsheet does (0 = custom)', () => {
    expect(decodeRead('dc_charger', 0xe004, [0]).values).toEqual({ battery_type: 'custom' });
    expect(decodeRead('dc_charger', 0xe004, [4]).values).toEqual({ battery_type: 'lithium' });
  });
});

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
