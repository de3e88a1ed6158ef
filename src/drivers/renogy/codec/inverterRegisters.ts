import {
  amps,
  block,
  celsius,
  enumeration,
  hertz,
  num,
  percent,
  plain,
  text,
  voltAmps,
  volts,
  watts,
  type Block,
} from './fields.js';

// Inverters: RIV1230RCH, RIV1220PU/RIV1230PU, RIV4835CSH1S, Rego (RNGRIU), notes §4.5. Device id 0x20.
// Reads as renogy-bt: (4000, 10), (4109, 1), (4311, 8), (4327, 7), (4408, 6), and renogy-ble's four
// single settings. The RIV4835CSH1S does not answer 4311 (the model), so it is optional. The main 4000
// read is sent twice when the first gets no answer in time, as renogy-ble does (`retries=2`: two
// attempts; notes §4.5).

/** §4.5, 4332. */
const INVERTER_CHARGING_STATES: Readonly<Record<number, string>> = {
  0: 'deactivated',
  1: 'constant_current',
  2: 'constant_voltage',
  4: 'floating',
  6: 'battery_activation',
  7: 'battery_disconnecting',
};

export const INVERTER_ADDRESS = num('device_address', 4109, 'Device address', plain());

/** A setting read once: a diagnostic value (fieldbridge reads it; it does not write settings). */
function setting(key: string, register: number, name: string, unit: 'V' | 'A'): Block {
  const field = num(key, register, name, unit === 'V' ? volts(0.1) : amps(0.1));
  return block(key, [{ ...field, ha: { ...field.ha, category: 'diagnostic' } }], {
    cadence: 'once',
    optional: true,
  });
}

export const INVERTER_BLOCKS = [
  block(
    'ac',
    [
      num('ac_input_voltage', 4000, 'AC input voltage', volts(0.1)),
      num('ac_input_current', 4001, 'AC input current', amps(0.01)),
      num('ac_output_voltage', 4002, 'AC output voltage', volts(0.1)),
      num('ac_output_current', 4003, 'AC output current', amps(0.01)),
      num('output_frequency', 4004, 'Output frequency', hertz(0.01)),
      num('battery_voltage', 4005, 'Battery voltage', volts(0.1)),
      // §4.5 lists U16, §6 says inverter temperatures are S16 ×0.1: signed reads the same above 0 °C.
      num('temperature', 4006, 'Temperature', celsius(0.1), { signedness: 'signed' }),
      num('input_frequency', 4009, 'Input frequency', hertz(0.01)),
    ],
    { attempts: 2 },
  ),
  block('address', [INVERTER_ADDRESS], { cadence: 'once', optional: true }),
  block('model', [text('model', 4311, 'Model', 8, 'trailing_nul')], { cadence: 'once', optional: true }),
  block('battery', [
    num('battery_soc', 4327, 'Battery state of charge', percent('battery')),
    // The RIV4835 captures: negative = charging, positive = discharging (the opposite of the batteries).
    num('battery_current', 4328, 'Battery current', amps(0.1), { signedness: 'signed' }),
    num('pv_voltage', 4329, 'Solar voltage', volts(0.1)),
    num('pv_current', 4330, 'Solar current', amps(0.1)),
    num('pv_power', 4331, 'Solar power', watts()),
    enumeration('charging_state', 4332, 'Charging state', INVERTER_CHARGING_STATES),
    num('charging_power', 4333, 'Charging power', watts()),
  ]),
  block('load', [
    num('load_current', 4408, 'Load current', amps('inverterLoadCurrent')),
    num('load_active_power', 4409, 'Load active power', watts()),
    num('load_apparent_power', 4410, 'Load apparent power', voltAmps()),
    num('line_charging_current', 4412, 'Line charging current', amps(0.1)),
    num('load_percentage', 4413, 'Load percentage', percent()),
  ]),
  setting('charging_current_setpoint', 4422, 'Charging current setpoint', 'A'),
  setting('low_voltage_warning', 4430, 'Low-voltage warning', 'V'),
  setting('over_voltage_protection', 4452, 'Over-voltage protection', 'V'),
  setting('ac_input_current_limit', 4456, 'AC input current limit', 'A'),
] as const;
