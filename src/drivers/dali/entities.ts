import type { EntityDescriptor } from '../../bridge/entities.js';
import type { JsonValue } from '../contract.js';

// A DALI lamp or group is one Home Assistant light with brightness. HA's brightness scale is the lamp's
// max level (what the lamp answered at connect), so 100 % in HA is the brightest the lamp is allowed
// to go; the failure bits of the self-test are diagnostic binary sensors.

export function daliEntities(state: Record<string, JsonValue> | undefined): EntityDescriptor[] {
  const maxLevel = typeof state?.max_level === 'number' && state.max_level > 0 ? state.max_level : 254;
  return [
    { component: 'light', objectId: 'light', name: 'Light', key: 'state', brightnessScale: maxLevel },
    {
      component: 'binary_sensor',
      objectId: 'lamp_failure',
      name: 'Lamp failure',
      key: 'lamp_failure',
      deviceClass: 'problem',
      entityCategory: 'diagnostic',
    },
  ];
}

export function daliModel(state: Record<string, JsonValue> | undefined): {
  manufacturer: string;
  model: string;
} {
  const groups = Array.isArray(state?.groups) ? state.groups : undefined;
  return { manufacturer: 'DALI', model: groups ? 'Control gear (lamp)' : 'Control gear' };
}

/** The adapter device: is it there (connectivity), and its firmware. */
export function daliAdapterEntities(): EntityDescriptor[] {
  return [
    {
      component: 'binary_sensor',
      objectId: 'connectivity',
      name: 'Connectivity',
      key: 'connected',
      deviceClass: 'connectivity',
      entityCategory: 'diagnostic',
    },
    {
      component: 'sensor',
      objectId: 'firmware',
      name: 'Firmware',
      key: 'firmware',
      entityCategory: 'diagnostic',
    },
  ];
}
