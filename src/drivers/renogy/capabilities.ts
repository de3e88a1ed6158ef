import type { DeviceConfig } from '../../config/index.js';
import type { DeviceModel, DeviceValues } from '../contract.js';
import { ACCESS, binary, type Capability, numeric, text, type ValueOptions } from '../shared/capabilities.js';
import { familyValues, RENOGY_FAMILIES, type RenogyFamily, type ValueDescription } from './codec/index.js';

// What a Renogy device offers Home Assistant, from the codec's description of its family (every value
// with its unit and hints): sensors with device and state classes, fault bits as problem binary
// sensors, the charging state as a text sensor of named states, and a controller's load output as a
// commandable value whose state is what the device reported after the write (echo, then read-back).
//
// The family is the configured one, else the one the device's state says it was read as (the runtime
// guessed it from the advertised name). Before the first reading a device without a configured family
// announces nothing: it may turn out to be a battery or a shunt, with neither a load output nor a
// Modbus id, and an entity announced then taken back is a flicker in Home Assistant.

/** The family a device is read as: configured, or as its last state says. */
export function familyOf(device: DeviceConfig, state: DeviceValues | undefined): RenogyFamily | undefined {
  if (device.driver === 'renogy' && device.family !== undefined) return device.family;
  const reported = state?.family;
  return RENOGY_FAMILIES.find((family) => family === reported);
}

/** Values that are the device's identity or settings, shown as diagnostics rather than as readings. */
const DIAGNOSTIC_REGISTERS = new Set(['model', 'device_address', 'serial_number', 'software_version']);

function optionsOf(value: ValueDescription): ValueOptions {
  const hints = value.ha;
  return {
    name: value.name,
    ...(hints?.deviceClass ? { deviceClass: hints.deviceClass } : {}),
    ...(value.unit ? { unit: value.unit } : {}),
    ...(hints?.stateClass ? { stateClass: hints.stateClass } : {}),
    ...(hints?.category
      ? { category: hints.category }
      : DIAGNOSTIC_REGISTERS.has(value.key)
        ? { category: 'diagnostic' as const }
        : {}),
  };
}

/** The load output: a commanded boolean whose published state is the device's (runtime.ts, loadSwitch). */
export const LOAD_KEY = 'load_on';

/** The controller's load output as an HA switch (an outlet: what is wired to it is powered or not). */
const loadSwitch = (name: string): Capability =>
  binary(LOAD_KEY, { name, deviceClass: 'outlet', access: ACCESS.STATE | ACCESS.SET });

/**
 * The load command of a device whose family is not known yet: accepted (it may be a controller), but
 * no entity (no STATE access) until a reading shows a controller with a load output.
 */
const loadCommandOnly: Capability = binary(LOAD_KEY, { access: ACCESS.SET });

function capabilityOf(family: RenogyFamily, value: ValueDescription): Capability {
  switch (value.type) {
    case 'number':
      return numeric(value.key, optionsOf(value));
    case 'text':
      return text(value.key, optionsOf(value));
    case 'enum':
      return text(value.key, {
        ...optionsOf(value),
        deviceClass: 'enum',
        ...(value.options ? { options: value.options } : {}),
      });
    case 'binary':
      if (family === 'controller' && value.key === LOAD_KEY) {
        return loadSwitch(value.name);
      }
      return binary(value.key, optionsOf(value));
  }
}

/** The connection's own diagnostics, whatever the family. */
const LINK_CAPABILITIES: readonly Capability[] = [
  numeric('device_id', { name: 'Modbus id', category: 'diagnostic' }),
];

export function renogyCapabilities(device: DeviceConfig, state: DeviceValues | undefined): Capability[] {
  const family = familyOf(device, state);
  // What can be commanded must not depend on the state (a command is checked with state undefined):
  // a device whose family is not configured accepts the load command, and the runtime refuses it when
  // the device turns out to have no load output.
  if (family === undefined) return [loadCommandOnly];
  // What the device reported (a battery reports as many cells and temperature sensors as it has, of
  // the sixteen its registers could hold); a configured controller's load switch from the start.
  const configured = device.driver === 'renogy' && device.family !== undefined;
  const values = familyValues(family).filter(
    (value) =>
      (configured && family === 'controller' && value.key === LOAD_KEY) ||
      (state !== undefined && value.key in state),
  );
  // A Smart Shunt speaks no Modbus: no Modbus id.
  const link = family === 'shunt' ? [] : LINK_CAPABILITIES;
  return [...link, ...values.map((value) => capabilityOf(family, value))];
}

const MODELS: Record<RenogyFamily, string> = {
  controller: 'Solar charge controller',
  dc_charger: 'DC-DC charger',
  battery: 'LiFePO4 battery',
  inverter: 'Inverter',
  shunt: 'Smart Shunt',
};

/** The registry entry: the model the device reports, else its family. */
export function renogyModel(state: DeviceValues | undefined): DeviceModel | undefined {
  const family = state?.family;
  const model =
    typeof state?.model === 'string' && state.model.trim() !== '' ? state.model.trim() : undefined;
  if (typeof family !== 'string' || !(family in MODELS)) return undefined;
  return { manufacturer: 'Renogy', model: model ?? MODELS[family as RenogyFamily] };
}
