import { describe, expect, it } from 'vitest';
import { type DeviceConfig, parseConfig } from '../src/config/index.js';
import { invalidCommand as invalidDeviceCommand } from '../src/drivers/registry.js';

const DEVICES = parseConfig(
  [
    'devices:',
    '  - { id: demo, driver: simulated }',
    '  - { id: hall, driver: dali, transport: simulated, address: 5 }',
    '  - { id: heat, driver: mbus, transport: simulated }',
  ].join('\n'),
  {},
).devices;

/** The command check of a device of this driver. */
function invalidCommand(driver: 'simulated' | 'dali' | 'mbus', operation: 'set' | 'get', args: unknown) {
  const device = DEVICES.find((candidate) => candidate.driver === driver) as DeviceConfig;
  return invalidDeviceCommand(device, operation, args);
}

describe('driver command checks', () => {
  it('accepts the fields a simulated light knows, within range', () => {
    expect(
      invalidCommand('simulated', 'set', { state: 'ON', brightness: 254, transition: 1.5 }),
    ).toBeUndefined();
    expect(invalidCommand('simulated', 'set', {})).toBeUndefined();
    expect(invalidCommand('simulated', 'get', { state: '' })).toBeUndefined();
  });

  it("accepts Home Assistant's flash field on lights (and ignores it) instead of refusing the command", () => {
    for (const driver of ['simulated', 'dali'] as const) {
      // What HA's JSON light sends: the flash time in seconds (flash_time_short 2, flash_time_long 10).
      expect(invalidCommand(driver, 'set', { state: 'ON', flash: 2 })).toBeUndefined();
      expect(invalidCommand(driver, 'set', { state: 'ON', flash: 10, brightness: 100 })).toBeUndefined();
      expect(invalidCommand(driver, 'set', { state: 'ON', flash: 'long' })).toBeUndefined();
      expect(invalidCommand(driver, 'set', { flash: 'often' })).toMatch(/^flash: /);
      expect(invalidCommand(driver, 'set', { flash: -1 })).toMatch(/^flash: /);
    }
  });

  it('refuses out-of-range values instead of clamping, and unknown fields', () => {
    expect(invalidCommand('simulated', 'set', { brightness: 255 })).toBe(
      'brightness: Too big: expected number to be <=254',
    );
    expect(invalidCommand('simulated', 'set', { brightness: 12.5 })).toBe(
      'brightness: must be a whole number',
    );
    expect(invalidCommand('simulated', 'set', { state: 'on' })).toMatch(/^state: /);
    expect(invalidCommand('simulated', 'set', { colour: 'red' })).toBe('unknown field "colour"');
  });

  it('says when a driver has no such command', () => {
    expect(invalidCommand('mbus', 'set', {})).toBe('driver mbus has no "set" command');
  });
});
