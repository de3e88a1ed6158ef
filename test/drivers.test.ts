import { describe, expect, it } from 'vitest';
import { invalidCommand } from '../src/actors/drivers.js';

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
      expect(invalidCommand(driver, 'set', { state: 'ON', flash: 'short' })).toBeUndefined();
      expect(invalidCommand(driver, 'set', { state: 'ON', flash: 'long' })).toBeUndefined();
      expect(invalidCommand(driver, 'set', { flash: 'often' })).toMatch(/^flash: /);
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
