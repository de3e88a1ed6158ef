import { describe, expect, it } from 'vitest';
import {
  controllerFaults,
  decodeRead,
  encodeReadResponse,
  encodeRegisters,
  wordsOf,
} from '../src/drivers/renogy/codec/index.js';
import { formatHex } from '../src/drivers/shared/hex.js';
import {
  bytes,
  capturedValues as values,
  CONSTRUCTED_DYNAMIC,
  DCC50S_STATUS_NO_CRC,
} from './helpers/renogyFrames.js';

// The charge controller and DC-DC charger maps of notes §4.1 and §4.3 against the captured frames of
// §7.2, the constructed §7.3 frame round trip, and the scaling and signedness at the edges. The decoder
// is checked against the captures, never against the encoder.

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
