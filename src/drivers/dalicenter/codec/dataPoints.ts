import { type DeviceClass, type PanelEventName } from './deviceTypes.js';
import { badArgument, type DaliCenterProblem, problem } from './errors.js';
import { toBoolean } from './json.js';
import { decodeHsv, encodeHsv, GATEWAY_BRIGHTNESS_MAX, type Hsv, KELVIN_RANGE } from './levels.js';

// Data points (dpid, notes §7): what a property in devStatus/readDevRes means depends on the device
// class. Lights: 20 power, 21 white level, 22 brightness 0-1000, 23 kelvin, 24 HSV text. Panels: the
// dpid is the event code (1 press, 2 hold, 3 double_press, 4 rotate, 5 release; the SDK's earliest
// mapping was wrong) and keyNo the button. Motion: the dpid itself is the state. Illuminance: dpid 4,
// lux, valid only when 0 < lux <= 1000. Energy: dpid 30 in reportEnergy.

export const DPID = Object.freeze({
  power: 20,
  white: 21,
  brightness: 22,
  colourTemperature: 23,
  hsv: 24,
  energy: 30,
  illuminance: 4,
});

export type PropertyDataType = 'bool' | 'uint8' | 'uint16' | 'string';

/** One property of a writeDev/writeGroup: as the SDK sends it, with its dataType. */
export interface WriteProperty {
  dpid: number;
  dataType: PropertyDataType;
  value: boolean | number | string;
}

/** One property as a gateway reports it (`dpid` or `id`; keyNo for panels). Values unvalidated. */
export interface ReportedProperty {
  dpid: number;
  value: unknown;
  keyNo?: number;
}

/** What a light command sets; brightness in the gateway's 0-1000 (see levels.ts for the mapping). */
export interface LightCommand {
  on?: boolean;
  brightness?: number;
  kelvin?: number;
  hsv?: Hsv;
  /** RGBW(A) white level 0-255. */
  white?: number;
}

function integerIn(value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max)
    badArgument(`${what} ${value} is not an integer ${min}-${max}`);
  return value;
}

/** The properties of a light command, in the SDK's order: power, brightness, colour temperature, colour, white. */
export function lightProperties(command: LightCommand): WriteProperty[] {
  const properties: WriteProperty[] = [];
  if (command.on !== undefined) properties.push({ dpid: DPID.power, dataType: 'bool', value: command.on });
  if (command.brightness !== undefined)
    properties.push({
      dpid: DPID.brightness,
      dataType: 'uint16',
      value: integerIn(command.brightness, 0, GATEWAY_BRIGHTNESS_MAX, 'brightness'),
    });
  if (command.kelvin !== undefined)
    properties.push({
      dpid: DPID.colourTemperature,
      dataType: 'uint16',
      value: integerIn(command.kelvin, KELVIN_RANGE.warmest, KELVIN_RANGE.coolest, 'colour temperature (K)'),
    });
  if (command.hsv !== undefined)
    properties.push({ dpid: DPID.hsv, dataType: 'string', value: encodeHsv(command.hsv) });
  if (command.white !== undefined)
    properties.push({
      dpid: DPID.white,
      dataType: 'uint8',
      value: integerIn(command.white, 0, 255, 'white level'),
    });
  if (properties.length === 0) badArgument('a light command must set something');
  return properties;
}

/** A light's state as reported: only the fields the report carried. */
export interface LightState {
  on?: boolean;
  brightness?: number;
  kelvin?: number;
  hsv?: Hsv;
  white?: number;
}

export type MotionState = 'no_motion' | 'motion' | 'vacant' | 'occupancy' | 'presence';

const MOTION_STATES: Readonly<Record<number, MotionState>> = {
  1: 'no_motion',
  2: 'motion',
  3: 'vacant',
  4: 'occupancy',
  5: 'presence',
};

/**
 * Home Assistant's two binary sensors from a motion state, as HA core derives them: motion on for 2 and
 * off for 1; occupancy on for 2, 4, 5 and off for 3. A state that says nothing about one leaves it out.
 */
export function motionBinaryStates(state: MotionState): { motion?: boolean; occupancy?: boolean } {
  switch (state) {
    case 'no_motion':
      return { motion: false };
    case 'motion':
      return { motion: true, occupancy: true };
    case 'vacant':
      return { occupancy: false };
    case 'occupancy':
    case 'presence':
      return { occupancy: true };
  }
}

const PANEL_EVENTS: Readonly<Record<number, PanelEventName>> = {
  1: 'press',
  2: 'hold',
  3: 'double_press',
  4: 'rotate',
  5: 'release',
};

export interface PanelEvent {
  key: number;
  event: PanelEventName;
  /** button_<key>_<event>, the name HA event entities use. */
  name: string;
  /** rotate: the amount as sent (units unknown, notes §12.6). */
  rotation?: number;
}

/** Illuminance readings outside this are flagged invalid by the SDK and ignored by HA (notes §7.4). */
export const ILLUMINANCE_VALID = Object.freeze({ above: 0, atMost: 1000 });

export type DeviceReport =
  | { kind: 'light'; state: LightState }
  | { kind: 'motion'; state?: MotionState }
  | { kind: 'illuminance'; lux?: number }
  | { kind: 'panel'; events: PanelEvent[] }
  /** A device class with no status of its own (group reference, broadcast, unknown): properties kept raw. */
  | { kind: 'other'; properties: ReportedProperty[] };

export interface Interpreted {
  report: DeviceReport;
  /** Properties dropped, each with why (out of range, wrong type); the rest of the report stands. */
  problems: DaliCenterProblem[];
}

function numeric(value: unknown): number | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : undefined;
}

function lightState(properties: ReportedProperty[], cmd: string, problems: DaliCenterProblem[]): LightState {
  const state: LightState = {};
  const bad = (dpid: number, value: unknown, wanted: string) =>
    problems.push(
      problem(
        'out_of_range',
        `light dpid ${dpid} must be ${wanted}, got ${JSON.stringify(value)?.slice(0, 40)}`,
        { cmd, field: `dpid ${dpid}` },
      ),
    );
  for (const { dpid, value } of properties) {
    if (dpid === DPID.power) {
      const on = toBoolean(value);
      if (on === undefined) bad(dpid, value, 'a boolean');
      else state.on = on;
    } else if (dpid === DPID.brightness) {
      const level = numeric(value);
      if (level === undefined || level < 0 || level > GATEWAY_BRIGHTNESS_MAX) bad(dpid, value, '0-1000');
      else state.brightness = Math.round(level);
    } else if (dpid === DPID.colourTemperature) {
      const kelvin = numeric(value);
      if (kelvin === undefined || kelvin < KELVIN_RANGE.warmest || kelvin > KELVIN_RANGE.coolest)
        bad(dpid, value, '1000-10000 K');
      else state.kelvin = Math.round(kelvin);
    } else if (dpid === DPID.hsv) {
      const colour = typeof value === 'string' ? decodeHsv(value) : undefined;
      if (colour === undefined) bad(dpid, value, 'hhhhssss[vvvv] hex with hue <= 360, s and v <= 1000');
      else state.hsv = colour;
    } else if (dpid === DPID.white) {
      const white = numeric(value);
      if (white === undefined || !Number.isInteger(white) || white < 0 || white > 255)
        bad(dpid, value, '0-255');
      else state.white = white;
    }
    // Other dpids (energy 30 inside a status, vendor extras) say nothing about the light's state.
  }
  return state;
}

function panelEvents(
  device: Extract<DeviceClass, { kind: 'panel' }>,
  properties: ReportedProperty[],
  cmd: string,
  problems: DaliCenterProblem[],
): PanelEvent[] {
  const events: PanelEvent[] = [];
  for (const { dpid, keyNo, value } of properties) {
    const event = PANEL_EVENTS[dpid];
    if (event === undefined || !device.events.includes(event)) {
      problems.push(
        problem('out_of_range', `panel ${device.devType} has no event code ${dpid}`, { cmd, field: 'dpid' }),
      );
      continue;
    }
    if (keyNo === undefined || !Number.isInteger(keyNo) || keyNo < 1 || keyNo > device.keys) {
      problems.push(
        problem(
          'out_of_range',
          `panel ${device.devType} has keys 1-${device.keys}, got keyNo ${String(keyNo)}`,
          { cmd, field: 'keyNo' },
        ),
      );
      continue;
    }
    const rotation = event === 'rotate' ? numeric(value) : undefined;
    events.push({
      key: keyNo,
      event,
      name: `button_${keyNo}_${event}`,
      ...(rotation !== undefined ? { rotation } : {}),
    });
  }
  return events;
}

/** The meaning of a status's properties for a device of class `device`; problems name what was dropped. */
export function interpretProperties(
  device: DeviceClass,
  properties: ReportedProperty[],
  cmd = 'devStatus',
): Interpreted {
  const problems: DaliCenterProblem[] = [];
  switch (device.kind) {
    case 'light':
      return { report: { kind: 'light', state: lightState(properties, cmd, problems) }, problems };
    case 'panel':
      return { report: { kind: 'panel', events: panelEvents(device, properties, cmd, problems) }, problems };
    case 'motion': {
      let state: MotionState | undefined;
      for (const { dpid } of properties) {
        const found = MOTION_STATES[dpid];
        // The SDK treats an unknown code as no_motion; publishing a guess is worse than skipping it.
        if (found === undefined)
          problems.push(
            problem('out_of_range', `motion state code ${dpid} is not 1-5`, { cmd, field: 'dpid' }),
          );
        else state = found;
      }
      return { report: { kind: 'motion', ...(state !== undefined ? { state } : {}) }, problems };
    }
    case 'illuminance': {
      let lux: number | undefined;
      for (const { dpid, value } of properties) {
        if (dpid !== DPID.illuminance) continue;
        const reading = numeric(value);
        if (reading === undefined || reading <= ILLUMINANCE_VALID.above || reading > ILLUMINANCE_VALID.atMost)
          problems.push(
            problem(
              'out_of_range',
              `illuminance ${JSON.stringify(value)?.slice(0, 40)} lx is outside the valid 0 < lux <= 1000`,
              { cmd, field: 'dpid 4' },
            ),
          );
        else lux = reading;
      }
      return { report: { kind: 'illuminance', ...(lux !== undefined ? { lux } : {}) }, problems };
    }
    default:
      return { report: { kind: 'other', properties }, problems };
  }
}

/** The energy value (dpid 30) of a reportEnergy's properties; a problem when absent, not a number or negative. */
export function energyOf(properties: ReportedProperty[], cmd = 'reportEnergy'): number | DaliCenterProblem {
  const entry = properties.find((property) => property.dpid === DPID.energy);
  if (entry === undefined)
    return problem('missing_field', 'no dpid 30 (energy) in the report', { cmd, field: 'property' });
  const value = numeric(entry.value);
  if (value === undefined || value < 0)
    return problem(
      'out_of_range',
      `energy ${JSON.stringify(entry.value)?.slice(0, 40)} is not a non-negative number`,
      { cmd, field: 'dpid 30' },
    );
  return value;
}
