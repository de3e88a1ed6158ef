import { badArgument } from './errors.js';

// Value encodings of the light data points (notes §7.1). The gateway's brightness is 0-1000 (0.1 %
// steps); Home Assistant's is 0-255 and DALI's arc level 0-254. The HA integration's users saw "below
// 25 % wraps to 100 %" (issue #73: a reported 0 mapped to 255) and 100 % shown as 77 %: here 0 is always
// 0, the top is always the top, a non-zero gateway level never reads as off, and every level survives
// level -> gateway -> level unchanged. We send integers (dataType uint16); the SDK sends an unrounded
// float, which the notes cannot say the firmware needs.

export const GATEWAY_BRIGHTNESS_MAX = 1000;
/** 255: Home Assistant's brightness; 254: a DALI arc level. */
export type BrightnessScale = 254 | 255;

/** A level 0..scale as the gateway's 0-1000. */
export function toGatewayBrightness(level: number, scale: BrightnessScale = 255): number {
  if (!Number.isFinite(level) || level < 0 || level > scale)
    badArgument(`brightness ${level} is not 0-${scale}`);
  return Math.round((level * GATEWAY_BRIGHTNESS_MAX) / scale);
}

/** The gateway's 0-1000 as a level 0..scale; a non-zero value is at least 1 (on, not off). */
export function fromGatewayBrightness(value: number, scale: BrightnessScale = 255): number {
  if (!Number.isFinite(value) || value < 0 || value > GATEWAY_BRIGHTNESS_MAX)
    badArgument(`gateway brightness ${value} is not 0-${GATEWAY_BRIGHTNESS_MAX}`);
  if (value === 0) return 0;
  return Math.min(scale, Math.max(1, Math.round((value * scale) / GATEWAY_BRIGHTNESS_MAX)));
}

/** Colour temperature limits of a DT8 Tc light, in kelvin. */
export interface KelvinLimits {
  warmest: number;
  coolest: number;
}

/** What Home Assistant assumes without the device's own limits (notes §7.1). */
export const DEFAULT_KELVIN_LIMITS: KelvinLimits = Object.freeze({ warmest: 1000, coolest: 8000 });
/** What the HA integration accepts for cctWarm/cctCool (notes §5.3); wider readings are refused. */
export const KELVIN_RANGE: KelvinLimits = Object.freeze({ warmest: 1000, coolest: 10_000 });

/**
 * A device's limits from its parameters (getDevParamRes `paramer.cctWarm`/`cctCool`): 0/0 means "not
 * configured" (SDK tests), and anything outside 1000-10000 K or warm >= cool is ignored, leaving the defaults.
 */
export function kelvinLimitsOf(parameters: { cctWarm?: unknown; cctCool?: unknown }): KelvinLimits {
  const warm = Number(parameters.cctWarm);
  const cool = Number(parameters.cctCool);
  const inRange = (kelvin: number) =>
    Number.isInteger(kelvin) && kelvin >= KELVIN_RANGE.warmest && kelvin <= KELVIN_RANGE.coolest;
  return inRange(warm) && inRange(cool) && warm < cool
    ? { warmest: warm, coolest: cool }
    : { ...DEFAULT_KELVIN_LIMITS };
}

/** A kelvin value brought within `limits` (a command asking beyond what the gear can do). */
export function clampKelvin(kelvin: number, limits: KelvinLimits): number {
  return Math.round(Math.min(limits.coolest, Math.max(limits.warmest, kelvin)));
}

/** The gateway's colour: hue 0-360 degrees, saturation and value 0-1000. */
export interface Hsv {
  hue: number;
  saturation: number;
  value: number;
}

function hex4(value: number): string {
  return Math.round(value).toString(16).padStart(4, '0');
}

/** dpid 24's text: hhhhssssvvvv, lower-case hex as the SDK sends. */
export function encodeHsv(colour: Hsv): string {
  const { hue, saturation, value } = colour;
  if (!(hue >= 0 && hue <= 360)) badArgument(`hue ${hue} is not 0-360`);
  if (!(saturation >= 0 && saturation <= 1000)) badArgument(`saturation ${saturation} is not 0-1000`);
  if (!(value >= 0 && value <= 1000)) badArgument(`value ${value} is not 0-1000`);
  return hex4(hue) + hex4(saturation) + hex4(value);
}

/** Home Assistant's hs (hue degrees, saturation %) as dpid 24: value fixed at 1000, as the SDK does. */
export function encodeHs(hue: number, saturationPercent: number): string {
  if (!(saturationPercent >= 0 && saturationPercent <= 100))
    badArgument(`saturation ${saturationPercent} % is not 0-100`);
  return encodeHsv({ hue, saturation: saturationPercent * 10, value: 1000 });
}

/** dpid 24 read back: 12 characters (hsv) or 8 (hs, value taken as 1000); undefined when malformed. */
export function decodeHsv(text: string): Hsv | undefined {
  if (!/^([0-9a-fA-F]{8}|[0-9a-fA-F]{12})$/.test(text)) return undefined;
  const hue = parseInt(text.slice(0, 4), 16);
  const saturation = parseInt(text.slice(4, 8), 16);
  const value = text.length === 12 ? parseInt(text.slice(8, 12), 16) : 1000;
  if (hue > 360 || saturation > 1000 || value > 1000) return undefined;
  return { hue, saturation, value };
}

/** RGB 0-255 as the gateway's HSV (for RGBW lights, whose colour is also sent as dpid 24). */
export function rgbToHsv(red: number, green: number, blue: number): Hsv {
  for (const channel of [red, green, blue])
    if (!(channel >= 0 && channel <= 255)) badArgument(`colour channel ${channel} is not 0-255`);
  const max = Math.max(red, green, blue);
  const min = Math.min(red, green, blue);
  const delta = max - min;
  let hue = 0;
  if (delta > 0) {
    if (max === red) hue = 60 * (((green - blue) / delta + 6) % 6);
    else if (max === green) hue = 60 * ((blue - red) / delta + 2);
    else hue = 60 * ((red - green) / delta + 4);
  }
  return {
    hue: Math.round(hue) % 360,
    saturation: max === 0 ? 0 : Math.round((delta / max) * 1000),
    value: Math.round((max / 255) * 1000),
  };
}

/** The gateway's HSV as RGB 0-255. */
export function hsvToRgb(colour: Hsv): [number, number, number] {
  const s = colour.saturation / 1000;
  const v = colour.value / 1000;
  const h = (colour.hue % 360) / 60;
  const c = v * s;
  const x = c * (1 - Math.abs((h % 2) - 1));
  const m = v - c;
  const [r, g, b] =
    h < 1
      ? [c, x, 0]
      : h < 2
        ? [x, c, 0]
        : h < 3
          ? [0, c, x]
          : h < 4
            ? [0, x, c]
            : h < 5
              ? [x, 0, c]
              : [c, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}
