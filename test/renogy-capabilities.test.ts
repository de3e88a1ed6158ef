import { describe, expect, it } from 'vitest';
import { type DeviceConfig, parseConfig } from '../src/config/index.js';
import { entitiesOf, invalidCommand } from '../src/drivers/registry.js';

// What a Renogy device announces to Home Assistant before and after its first reading. The load
// output is a switch only on a controller: configured as one (from the start), or read as one; a
// device whose family is not configured announces nothing before its first reading (it may be a
// battery or a shunt), yet accepts the load command (commands are checked without the state; the
// runtime refuses it when the device has no load output).

function renogy(extra = ''): DeviceConfig {
  const [device] = parseConfig(
    `devices:\n  - { id: solar, driver: renogy, mac: 'C4:D3:6A:00:00:01'${extra} }\n`,
    {},
  ).devices;
  if (device === undefined) throw new Error('no device parsed');
  return device;
}

const switches = (device: DeviceConfig, state?: Record<string, unknown>) =>
  entitiesOf(device, state as never).filter((entity) => entity.component === 'switch');

describe('the Renogy load switch', () => {
  it('is not announced for a device of unknown family before its first reading, which still takes the command', () => {
    const device = renogy();
    expect(entitiesOf(device, undefined)).toEqual([]);
    expect(invalidCommand(device, 'set', { load_on: true })).toBeUndefined();
    expect(invalidCommand(device, 'set', { load_on: 'yes' })).toMatch(/load_on/);
  });

  it('appears once a reading shows a controller with a load output', () => {
    const state = { family: 'controller', device_id: 1, battery_soc: 87, load_on: false };
    expect(switches(renogy(), state)).toEqual([
      expect.objectContaining({ objectId: 'load_on', key: 'load_on', deviceClass: 'outlet' }),
    ]);
  });

  it('never appears for a battery or a shunt read without a configured family', () => {
    expect(switches(renogy(), { family: 'battery', device_id: 48, voltage: 13.3 })).toEqual([]);
    expect(switches(renogy(), { family: 'shunt', voltage: 13.3, current: -2 })).toEqual([]);
    // Nor a Modbus id for the shunt.
    expect(
      entitiesOf(renogy(), { family: 'shunt', voltage: 13.3 } as never).map((entity) => entity.key),
    ).toEqual(['voltage']);
  });

  it('is announced from the start for a device configured as a controller, and refused for one configured as a battery', () => {
    expect(switches(renogy(', family: controller'))).toHaveLength(1);
    expect(switches(renogy(', family: battery'))).toEqual([]);
    expect(invalidCommand(renogy(', family: battery'), 'set', { load_on: true })).toMatch(
      /has no "set" command/,
    );
  });
});
