import type { DeviceConfig } from '../../config/index.js';
import type { DeviceModel, JsonValue } from '../contract.js';
import { binary, type Capability, light, numeric, readOnDemand, text } from '../shared/capabilities.js';

// What a DALI Center gateway's devices offer Home Assistant. A light (and a group, which switches its
// members with one command) is a JSON light whose brightness is HA's 0-255, mapped to the gateway's
// 0-1000 by the codec (0 is off, 255 is full, a non-zero level never reads as off). Sensors report by
// push; a panel's last key event is published as `event` (button_<key>_<event>). The gateway device
// itself shows its connectivity and versions; `get` runs a getVersion round trip.

/** What a DALI Center light or group accepts: on/off and HA's 0-255 brightness. */
export const DALICENTER_LIGHT = light({ brightness: { max: 255 } });

const ENERGY = numeric('energy', {
  deviceClass: 'energy',
  unit: 'Wh',
  stateClass: 'total_increasing',
});

export function daliCenterCapabilities(device: DeviceConfig): Capability[] {
  if (device.driver !== 'dalicenter') return [];
  switch (device.role) {
    case 'gateway':
      return [
        readOnDemand(),
        binary('connected', {
          objectId: 'connectivity',
          name: 'Connectivity',
          deviceClass: 'connectivity',
          category: 'diagnostic',
        }),
        text('firmware', { category: 'diagnostic' }),
        text('software', { category: 'diagnostic' }),
      ];
    case 'light':
      return [DALICENTER_LIGHT, ENERGY];
    case 'group':
      return [DALICENTER_LIGHT];
    case 'scene':
      // Writing `activate` recalls the scene (HA shows it as a switch-like button through the set topic).
      return [binary('activate', { access: 2 })];
    case 'motion':
      return [binary('motion', { deviceClass: 'motion' }), binary('occupancy', { deviceClass: 'occupancy' })];
    case 'illuminance':
      return [numeric('illuminance', { deviceClass: 'illuminance', unit: 'lx', stateClass: 'measurement' })];
    case 'panel':
      return [text('event', { icon: 'mdi:gesture-tap-button' })];
  }
}

/** The registry entry from the last state: the runtime reports each device's `model`. */
export function daliCenterModel(state: Record<string, JsonValue> | undefined): DeviceModel | undefined {
  return typeof state?.model === 'string' ? { manufacturer: 'Sunricher', model: state.model } : undefined;
}
