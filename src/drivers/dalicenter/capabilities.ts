import type { DeviceConfig } from '../../config/index.js';
import type { DeviceModel, JsonValue } from '../contract.js';
import {
  binary,
  type Capability,
  connectivity,
  event,
  light,
  type LightCapability,
  numeric,
  readOnDemand,
  scene,
  text,
} from '../shared/capabilities.js';
import { classifyDeviceType, DEFAULT_KELVIN_LIMITS, type PanelEventName } from './codec/index.js';
import { PANEL_EVENT_ATTRIBUTES } from './deviceStates.js';

// What a DALI Center gateway's devices offer Home Assistant. A light (and a group, which switches its
// members with one command) is a JSON light whose brightness is HA's 0-255, mapped to the gateway's
// 0-1000 by the codec (0 is off, 255 is full, a non-zero level never reads as off). Sensors report by
// push; a panel's key event is an HA event (button_<key>_<event>) with its key, action and rotation.
// The gateway device itself shows its connectivity and versions; `get` runs a getVersion round trip.

/** What a DALI Center group (and a DT6 light) accepts: on/off and HA's 0-255 brightness. */
// `transition` is taken (HA's JSON light may send it) and not acted on: the gateway fades at each
// light's own fade time (a device parameter), it has no per-command fade.
export const DALICENTER_LIGHT = light({ brightness: { max: 255 }, transition: true });

/**
 * A light by its device type: DT6 brightness; DT8 Tc colour temperature within its own kelvin limits
 * (from its parameters when the scan read them, else HA's 1000-8000 K); RGB and XY gear hs; RGBW(A) rgbw.
 */
export function daliCenterLight(device: {
  dev_type?: string | undefined;
  min_kelvin?: number | undefined;
  max_kelvin?: number | undefined;
}): LightCapability {
  const kind = classifyDeviceType(device.dev_type ?? '0101');
  if (kind.kind !== 'light' || kind.colourMode === 'brightness') return DALICENTER_LIGHT;
  if (kind.colourMode === 'color_temp') {
    const min = device.min_kelvin ?? DEFAULT_KELVIN_LIMITS.warmest;
    const max = device.max_kelvin ?? DEFAULT_KELVIN_LIMITS.coolest;
    return light({
      brightness: { max: 255 },
      transition: true,
      color:
        min < max
          ? { mode: 'color_temp', minKelvin: min, maxKelvin: max }
          : { mode: 'color_temp', ...defaultKelvin() },
    });
  }
  return light({ brightness: { max: 255 }, transition: true, color: { mode: kind.colourMode } });
}

const defaultKelvin = () => ({
  minKelvin: DEFAULT_KELVIN_LIMITS.warmest,
  maxKelvin: DEFAULT_KELVIN_LIMITS.coolest,
});

/** The event types of a panel: button_<key>_<event> for each key and each event it knows. */
export function panelEventTypes(devType: string | undefined): string[] {
  const kind = classifyDeviceType(devType ?? '0304');
  const keys = kind.kind === 'panel' ? kind.keys : 4;
  const events: readonly PanelEventName[] = kind.kind === 'panel' ? kind.events : [];
  return Array.from({ length: keys }, (_, index) =>
    events.map((name) => `button_${index + 1}_${name}`),
  ).flat();
}

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
        connectivity(),
        text('firmware', { category: 'diagnostic' }),
        text('software', { category: 'diagnostic' }),
      ];
    case 'light':
      return [daliCenterLight(device), ENERGY];
    case 'group':
      return [DALICENTER_LIGHT];
    case 'scene':
      // HA's scene entity publishes {"activate": true} on the set topic: the gateway recalls it.
      return [scene('activate')];
    case 'motion':
      return [binary('motion', { deviceClass: 'motion' }), binary('occupancy', { deviceClass: 'occupancy' })];
    case 'illuminance':
      return [numeric('illuminance', { deviceClass: 'illuminance', unit: 'lx', stateClass: 'measurement' })];
    case 'panel':
      return [
        event('event', panelEventTypes(device.dev_type), {
          name: 'Button',
          attributes: PANEL_EVENT_ATTRIBUTES,
        }),
      ];
  }
}

/** The registry entry of a device: the gateway with its firmware, the others by their type code. */
export function daliCenterModel(
  state: Record<string, JsonValue> | undefined,
  device?: DeviceConfig,
): DeviceModel | undefined {
  if (device?.driver !== 'dalicenter') return undefined;
  switch (device.role) {
    case 'gateway':
      return {
        manufacturer: 'Sunricher',
        model: `DALI Center gateway${typeof state?.firmware === 'string' ? ` (firmware ${state.firmware})` : ''}`,
      };
    case 'group':
      return { manufacturer: 'Sunricher', model: 'DALI Center group' };
    case 'scene':
      return { manufacturer: 'Sunricher', model: 'DALI Center scene' };
    default:
      return { manufacturer: 'Sunricher', model: classifyDeviceType(device.dev_type ?? '').model };
  }
}
