import type { JsonValue } from '../contract.js';
import { binary, type Capability, connectivity, light, readOnDemand, text } from '../shared/capabilities.js';

// A DALI lamp or group is one Home Assistant light with brightness. HA's brightness scale is the lamp's
// max level (what the lamp answered at connect), so 100 % in HA is the brightest the lamp is allowed
// to go; commands take any DALI level (0-254), the lamp holds to its own limits. The failure bits of
// the self-test are diagnostic binary sensors.

/** What a DALI lamp or group accepts, whatever its max level. */
export const DALI_LIGHT = light({ brightness: { max: 254 }, transition: true });

export function daliCapabilities(state: Record<string, JsonValue> | undefined): Capability[] {
  const maxLevel = typeof state?.max_level === 'number' && state.max_level > 0 ? state.max_level : 254;
  return [
    light({ ...DALI_LIGHT, brightness: { max: 254, scale: maxLevel } }),
    binary('lamp_failure', { deviceClass: 'problem', category: 'diagnostic' }),
  ];
}

export function daliModel(state: Record<string, JsonValue> | undefined): {
  manufacturer: string;
  model: string;
} {
  const groups = Array.isArray(state?.groups) ? state.groups : undefined;
  return { manufacturer: 'DALI', model: groups ? 'Control gear (lamp)' : 'Control gear' };
}

/** The adapter device: is it there (connectivity), and its firmware; `get` runs its self-test now. */
export function daliAdapterCapabilities(): Capability[] {
  return [readOnDemand(), connectivity(), text('firmware', { category: 'diagnostic' })];
}
