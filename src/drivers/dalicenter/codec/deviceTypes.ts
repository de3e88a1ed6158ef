import { DEFAULT_KELVIN_LIMITS, type KelvinLimits } from './levels.js';

// The gateway's device type codes (devType, notes §8, from the SDK's const.py and helper.py) as a typed
// classification: what a device is, and for lights the Home Assistant colour mode. Classification is by
// prefix as the SDK does: 01* light, 0201* motion, 0202 illuminance, 03* panel.

export type LightColourMode = 'brightness' | 'color_temp' | 'hs' | 'rgbw';

export type PanelEventName = 'press' | 'hold' | 'double_press' | 'rotate' | 'release';

export const ALL_PANEL_EVENTS: readonly PanelEventName[] = [
  'press',
  'hold',
  'double_press',
  'rotate',
  'release',
];
/** The rotary knob (0300) knows only these (the SDK's PANEL_CONFIGS). */
export const ROTARY_PANEL_EVENTS: readonly PanelEventName[] = ['press', 'double_press', 'rotate'];

export type DeviceClass =
  | {
      kind: 'light';
      devType: string;
      model: string;
      /** DALI device type: 6 (plain dimmer) or 8 (colour). */
      daliDeviceType: 6 | 8;
      colourMode: LightColourMode;
      /** Whether the light also takes a white level (dpid 21): RGBW and RGBWA. */
      whiteChannel: boolean;
      /**
       * DT8 Tc only: the limits until the device's own are read (getDevParam cctWarm/cctCool, see
       * kelvinLimitsOf), Home Assistant's defaults.
       */
      kelvinLimits?: KelvinLimits;
    }
  | { kind: 'motion'; devType: string; model: string; /** 0 for plain 0201, n for 0201nn. */ variant: number }
  | { kind: 'illuminance'; devType: string; model: string }
  | {
      kind: 'panel';
      devType: string;
      model: string;
      keys: number;
      rotary: boolean;
      events: readonly PanelEventName[];
    }
  /** 0401: a group standing as a member of a scene; its address is the group id (notes §6.4). */
  | { kind: 'group_reference'; devType: string; model: string }
  /** FFFF: every device on the gateway ("all lights"), sent at channel 0 address 1. */
  | { kind: 'broadcast'; devType: string; model: string }
  | { kind: 'unknown'; devType: string; model: string };

export type DeviceKind = DeviceClass['kind'];

interface LightType {
  model: string;
  daliDeviceType: 6 | 8;
  colourMode: LightColourMode;
  whiteChannel: boolean;
}

const LIGHTS: Readonly<Record<string, LightType>> = {
  '0101': {
    model: 'DALI DT6 Dimmable Driver',
    daliDeviceType: 6,
    colourMode: 'brightness',
    whiteChannel: false,
  },
  '0102': {
    model: 'DALI DT8 Tc Dimmable Driver',
    daliDeviceType: 8,
    colourMode: 'color_temp',
    whiteChannel: false,
  },
  '0103': { model: 'DALI DT8 RGB Dimmable Driver', daliDeviceType: 8, colourMode: 'hs', whiteChannel: false },
  // XY gear is driven through HSV by the gateway (the SDK and HA use the hs mode for it).
  '0104': { model: 'DALI DT8 XY Dimmable Driver', daliDeviceType: 8, colourMode: 'hs', whiteChannel: false },
  '0105': {
    model: 'DALI DT8 RGBW Dimmable Driver',
    daliDeviceType: 8,
    colourMode: 'rgbw',
    whiteChannel: true,
  },
  '0106': {
    model: 'DALI DT8 RGBWA Dimmable Driver',
    daliDeviceType: 8,
    colourMode: 'rgbw',
    whiteChannel: true,
  },
};

const PANEL_KEYS: Readonly<Record<string, number>> = {
  '0300': 1,
  '0302': 2,
  '0304': 4,
  '0306': 6,
  '0308': 8,
};

/** Every devType the notes list (each 0201nn variant included), for tests and the simulator. */
export const KNOWN_DEVICE_TYPES: readonly string[] = [
  ...Object.keys(LIGHTS),
  '0201',
  ...Array.from({ length: 20 }, (_, index) => `0201${String(index + 1).padStart(2, '0')}`),
  '0202',
  ...Object.keys(PANEL_KEYS),
  '0401',
  'FFFF',
];

/** What a devType is. Never throws: an unknown code is `unknown` (the parser reports it once). */
export function classifyDeviceType(devType: string): DeviceClass {
  const code = devType.toUpperCase();
  const light = LIGHTS[code];
  if (light)
    return {
      kind: 'light',
      devType: code,
      ...light,
      ...(light.colourMode === 'color_temp' ? { kelvinLimits: { ...DEFAULT_KELVIN_LIMITS } } : {}),
    };
  const motion = /^0201(\d\d)?$/.exec(code);
  if (motion) {
    const variant = motion[1] === undefined ? 0 : Number(motion[1]);
    if (variant <= 20)
      return {
        kind: 'motion',
        devType: code,
        model: variant === 0 ? 'DALI-2 Motion Sensor' : `DALI-2 Motion Sensor (${variant})`,
        variant,
      };
  }
  if (code === '0202') return { kind: 'illuminance', devType: code, model: 'DALI-2 Illuminance Sensor' };
  const keys = PANEL_KEYS[code];
  if (keys !== undefined) {
    const rotary = code === '0300';
    return {
      kind: 'panel',
      devType: code,
      model: rotary ? 'DALI-2 Rotary Knob Panel' : `DALI-2 ${keys}-Key Push Button Panel`,
      keys,
      rotary,
      events: rotary ? ROTARY_PANEL_EVENTS : ALL_PANEL_EVENTS,
    };
  }
  if (code === '0401') return { kind: 'group_reference', devType: code, model: 'Group (scene member)' };
  if (code === 'FFFF') return { kind: 'broadcast', devType: code, model: 'All devices' };
  return { kind: 'unknown', devType: code, model: `Unknown device type ${code}` };
}

/** Well-formed devType text: 4 hex digits, or 6 for the motion variants. */
export function isDeviceTypeCode(devType: string): boolean {
  return /^[0-9A-Fa-f]{4}([0-9A-Fa-f]{2})?$/.test(devType);
}
