import { RegisterImage, type RenogyValue } from '../codec/index.js';
import type { GattDeviceSpec } from './bluezSim.js';
import { RenogyPeripheral } from './peripheral.js';
import { ShuntPeripheral } from './shunt.js';

// The virtual Renogy devices of the simulated transport, the demo and the tests: a BT-1 with a Rover
// charge controller, a BT-2 on a Communication Hub with three batteries (ids 0x30-0x32), a Pro
// battery with built-in BLE (a second service with the same characteristic UUIDs, current in 0.1 A),
// an inverter with built-in BLE that answers only after its ffd4 was read, and a Smart Shunt 300.

export const CONTROLLER_VALUES: Readonly<Record<string, RenogyValue>> = {
  model: 'RNG-CTRL-RVR40',
  battery_soc: 87,
  battery_voltage: 13.2,
  battery_current: 4.5,
  controller_temperature: 25,
  battery_temperature: 22,
  load_voltage: 13.2,
  load_current: 0.5,
  load_power: 6,
  pv_voltage: 18.4,
  pv_current: 3.1,
  pv_power: 57,
  battery_min_voltage_today: 12.6,
  battery_max_voltage_today: 14.1,
  max_charging_current_today: 8.2,
  max_charging_power_today: 112,
  charging_amp_hours_today: 21,
  power_generation_today: 280,
  operating_days: 143,
  battery_over_discharges: 2,
  battery_full_charges: 96,
  total_charging_amp_hours: 4310,
  power_generation_total: 56100,
  power_consumption_today: 70,
  power_consumption_total: 9800,
  load_on: false,
  charging_state: 'mppt',
};

export function batteryValues(index: number): Record<string, RenogyValue> {
  return {
    model: 'RBT100LFP12S-G',
    serial_number: `R1000${index}`,
    cell_count: 4,
    cell_voltage_1: 3.3,
    cell_voltage_2: 3.3,
    cell_voltage_3: 3.4,
    cell_voltage_4: 3.3,
    temperature_sensor_count: 2,
    cell_temperature_1: 21,
    cell_temperature_2: 22,
    current: -2.5 + index,
    voltage: 13.3,
    remaining_capacity: 80 + index,
    full_capacity: 100,
    cycle_count: 40 + index,
  };
}

/** The RIV4835CSH1S captures of notes §7.2 (9), under a model that answers its model register. */
export const INVERTER_VALUES: Readonly<Record<string, RenogyValue>> = {
  model: 'RIV1230RCH-SPS',
  ac_input_voltage: 113.5,
  ac_input_current: 17,
  ac_output_voltage: 113.1,
  ac_output_current: 0.3,
  output_frequency: 60.01,
  battery_voltage: 51.2,
  temperature: 55.1,
  input_frequency: 60.01,
  battery_soc: 60,
  battery_current: -49.5,
  pv_voltage: 61.7,
  pv_current: 10.5,
  pv_power: 650,
  charging_state: 'constant_voltage',
  charging_power: 2535,
  load_current: 0.2,
  load_active_power: 20,
  load_apparent_power: 22,
  line_charging_current: 36.9,
  load_percentage: 0,
};

export const SHUNT_VALUES: Readonly<Record<string, number>> = {
  current: -12.345,
  voltage: 13.275,
  starter_voltage: 12.61,
  battery_soc: 76.5,
  battery_temperature: 18.5,
};

const module = (mac: string, name: string, peripheral: GattDeviceSpec['peripheral']): GattDeviceSpec => ({
  mac,
  name,
  peripheral,
  connectDelayMs: 30,
  resolveDelayMs: 30,
});

/** A BT-1 module on a Rover charge controller: answers 0xFF and its own id, 1 (its address register says so). */
export function bt1Controller(mac: string): GattDeviceSpec {
  const image = new RegisterImage('controller', CONTROLLER_VALUES, { deviceId: 0x01 });
  return module(mac, `BT-TH-${mac.replace(/:/g, '').slice(-8)}`, new RenogyPeripheral([image]));
}

/** A BT-2 on a Communication Hub with three batteries at 0x30, 0x31, 0x32 (0xFF collides there). */
export function bt2BatteryHub(mac: string): GattDeviceSpec {
  const images = [0x30, 0x31, 0x32].map(
    (id, index) => new RegisterImage('battery', batteryValues(index), { deviceId: id }),
  );
  return module(mac, `BT-TH-${mac.replace(/:/g, '').slice(-4)}BATT`, new RenogyPeripheral(images));
}

/** A Pro battery with built-in BLE (RNGRBP…): current in 0.1 A, the characteristics under two services. */
export function proBattery(mac: string): GattDeviceSpec {
  const image = new RegisterImage('battery', batteryValues(5), {
    deviceId: 0x30,
    scales: { batteryCurrent: 0.1 },
  });
  return module(
    mac,
    `RNGRBP${mac.replace(/:/g, '').slice(-6)}`,
    new RenogyPeripheral([image], { duplicateService: true }),
  );
}

/** An inverter with built-in BLE (BTRIC…) at id 0x20 that answers nothing until its ffd4 was read. */
export function inverter(mac: string): GattDeviceSpec {
  const image = new RegisterImage('inverter', INVERTER_VALUES, { deviceId: 0x20 });
  return module(
    mac,
    `BTRIC${mac.replace(/:/g, '').slice(-9)}`,
    new RenogyPeripheral([image], { requireInitRead: true }),
  );
}

/** A Smart Shunt 300 (RTMShunt…): no Modbus, live frames streamed on c411 every `intervalMs`. */
export function smartShunt(mac: string, intervalMs?: number): GattDeviceSpec {
  return module(
    mac,
    `RTMShunt300${mac.replace(/:/g, '').slice(-4)}`,
    new ShuntPeripheral(SHUNT_VALUES, intervalMs === undefined ? {} : { intervalMs }),
  );
}

/** The virtual shunt behind a device. */
export function shuntOf(spec: GattDeviceSpec): ShuntPeripheral {
  if (spec.peripheral instanceof ShuntPeripheral) return spec.peripheral;
  throw new Error(`${spec.mac} is not a virtual Smart Shunt`);
}

/** The peripheral behind a virtual device (tests look at its images and requests). */
export function peripheralOf(spec: GattDeviceSpec): RenogyPeripheral {
  if (spec.peripheral instanceof RenogyPeripheral) return spec.peripheral;
  throw new Error(`${spec.mac} is not a virtual Renogy device`);
}
