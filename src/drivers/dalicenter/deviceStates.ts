import type { JsonValue } from '../contract.js';
import type { LightCapability } from '../shared/capabilities.js';
import {
  type DeviceAddress,
  deviceKey,
  fromGatewayBrightness,
  hsvToRgb,
  type LightState,
  motionBinaryStates,
  type PanelEvent,
} from './codec/index.js';

// What a DALI Center device's state is, from what the gateway reported: the published state is built
// from reports only, never from what was asked. A light's reports are merged (a status may carry only
// some data points); a group's state is derived from its members' (on when any member is on, at the
// brightest on member's level), since the gateway reports devices, not groups.

export type DeviceState = Record<string, JsonValue>;

/**
 * A light's HA state from its merged reports: state ON/OFF, brightness 0-255, and its colour as HA's
 * JSON light reads it for its one colour mode (`color_temp` in kelvin, `color` {h, s} or {r, g, b, w}).
 */
export function lightStateOf(light: LightState, capability?: LightCapability): DeviceState {
  const state: DeviceState = {};
  const brightness =
    light.brightness === undefined ? undefined : fromGatewayBrightness(light.brightness, 255);
  if (light.on !== undefined) state.state = light.on && brightness !== 0 ? 'ON' : 'OFF';
  else if (brightness !== undefined) state.state = brightness > 0 ? 'ON' : 'OFF';
  state.brightness = brightness ?? 0;
  const mode = capability?.color?.mode;
  if (mode === 'color_temp' && light.kelvin !== undefined) state.color_temp = light.kelvin;
  if (mode === 'hs' && light.hsv !== undefined)
    state.color = { h: light.hsv.hue, s: Math.round(light.hsv.saturation / 10) };
  if (mode === 'rgbw' && light.hsv !== undefined) {
    const [r, g, b] = hsvToRgb(light.hsv);
    state.color = { r, g, b, w: light.white ?? 0 };
  }
  return state;
}

/** A group's state from its members' last reports; undefined while no member has reported. */
export function groupStateOf(members: readonly (LightState | undefined)[]): DeviceState | undefined {
  const known = members.filter((member): member is LightState => member !== undefined);
  if (known.length === 0) return undefined;
  const states = known.map((member) => lightStateOf(member));
  const on = states.filter((state) => state.state === 'ON');
  const brightness = Math.max(
    0,
    ...on.map((state) => (typeof state.brightness === 'number' ? state.brightness : 0)),
  );
  return on.length > 0 ? { state: 'ON', brightness } : { state: 'OFF', brightness: 0 };
}

/** What a panel report says about its press besides the event type: they go with the event. */
export const PANEL_EVENT_ATTRIBUTES = ['key', 'action', 'rotation'] as const;

/** A panel event as reported: the HA event type under `event`, and its key, action and rotation. */
export function panelStateOf(event: PanelEvent): DeviceState {
  return {
    event: event.name,
    key: event.key,
    action: event.event,
    ...(event.rotation !== undefined ? { rotation: event.rotation } : {}),
  };
}

export function motionStateOf(state: Parameters<typeof motionBinaryStates>[0]): DeviceState {
  return { ...motionBinaryStates(state), motion_state: state };
}

/** The last light reports of a gateway, by device key. */
export class LightReports {
  readonly #lights = new Map<string, LightState>();

  merge(device: DeviceAddress, report: LightState): LightState {
    const key = deviceKey(device);
    const merged = { ...this.#lights.get(key), ...report };
    this.#lights.set(key, merged);
    return merged;
  }

  get(device: DeviceAddress): LightState | undefined {
    return this.#lights.get(deviceKey(device));
  }

  clear(): void {
    this.#lights.clear();
  }
}
