import { describe, expect, it } from 'vitest';
import {
  clampKelvin,
  decodeHsv,
  DEFAULT_KELVIN_LIMITS,
  encodeHs,
  fromGatewayBrightness,
  hsvToRgb,
  kelvinLimitsOf,
  rgbToHsv,
  toGatewayBrightness,
} from '../src/drivers/dalicenter/codec/index.js';

// The value mappings of the light data points (notes §7.1): brightness without the off-by-wrap its HA
// users reported (issue #73), colour temperature limits, HSV text and RGB.

describe('DALI Center brightness 0-254/255 <-> 0-1000 (no off-by-wrap, issue #73)', () => {
  it.each([
    [0, 255, 0],
    [1, 255, 4],
    [254, 255, 996],
    [255, 255, 1000],
    [0, 254, 0],
    [1, 254, 4],
    [254, 254, 1000],
  ] as const)('level %i of %i is %i', (level, scale, gateway) => {
    expect(toGatewayBrightness(level, scale)).toBe(gateway);
    expect(fromGatewayBrightness(gateway, scale)).toBe(level);
  });

  it('gateway 0 is off, 1 (0.1 %) is still on, 1000 is full, 500 is half', () => {
    expect(fromGatewayBrightness(0)).toBe(0);
    expect(fromGatewayBrightness(1)).toBe(1);
    expect(fromGatewayBrightness(1, 254)).toBe(1);
    expect(fromGatewayBrightness(1000)).toBe(255);
    expect(fromGatewayBrightness(1000, 254)).toBe(254);
    expect(fromGatewayBrightness(500)).toBe(128);
  });

  it('every level survives level -> gateway -> level, on both scales, and the map is monotonic', () => {
    for (const scale of [254, 255] as const) {
      let previous = -1;
      for (let level = 0; level <= scale; level++) {
        const gateway = toGatewayBrightness(level, scale);
        expect(gateway).toBeGreaterThan(previous);
        previous = gateway;
        expect(fromGatewayBrightness(gateway, scale)).toBe(level);
      }
      let last = 0;
      for (let gateway = 0; gateway <= 1000; gateway++) {
        const level = fromGatewayBrightness(gateway, scale);
        expect(level).toBeGreaterThanOrEqual(last);
        expect(level > 0).toBe(gateway > 0);
        last = level;
      }
    }
  });

  it('refuses values outside the scales instead of wrapping', () => {
    expect(() => toGatewayBrightness(256)).toThrow(/0-255/);
    expect(() => toGatewayBrightness(255, 254)).toThrow(/0-254/);
    expect(() => fromGatewayBrightness(1001)).toThrow(/0-1000/);
    expect(() => fromGatewayBrightness(-1)).toThrow(/0-1000/);
  });
});

describe('DALI Center colour values', () => {
  it('HS for HA: value fixed at 1000, s = percent * 10; 8- and 12-character replies decode', () => {
    expect(encodeHs(240, 50)).toBe('00f001f403e8');
    expect(decodeHsv('00f001f403e8')).toEqual({ hue: 240, saturation: 500, value: 1000 });
    expect(decodeHsv('00f001f4')).toEqual({ hue: 240, saturation: 500, value: 1000 });
    expect(decodeHsv('016901f403e8')).toBeUndefined(); // hue 361
    expect(decodeHsv('zz')).toBeUndefined();
  });

  it('RGB <-> HSV for RGBW lights', () => {
    expect(rgbToHsv(255, 0, 0)).toEqual({ hue: 0, saturation: 1000, value: 1000 });
    expect(rgbToHsv(0, 0, 0)).toEqual({ hue: 0, saturation: 0, value: 0 });
    expect(hsvToRgb({ hue: 120, saturation: 1000, value: 1000 })).toEqual([0, 255, 0]);
    // 0.1 % steps: a round trip is within one step of 255.
    hsvToRgb(rgbToHsv(12, 200, 99)).forEach((channel, index) =>
      expect(Math.abs(channel - [12, 200, 99][index]!)).toBeLessThanOrEqual(1),
    );
  });

  it("kelvin limits: the device's cctWarm/cctCool, defaults for 0/0 or nonsense", () => {
    expect(kelvinLimitsOf({ cctWarm: 2700, cctCool: 6500 })).toEqual({ warmest: 2700, coolest: 6500 });
    expect(kelvinLimitsOf({ cctWarm: 0, cctCool: 0 })).toEqual(DEFAULT_KELVIN_LIMITS);
    expect(kelvinLimitsOf({ cctWarm: 6500, cctCool: 2700 })).toEqual(DEFAULT_KELVIN_LIMITS);
    expect(kelvinLimitsOf({})).toEqual({ warmest: 1000, coolest: 8000 });
    expect(clampKelvin(9000, { warmest: 2700, coolest: 6500 })).toBe(6500);
  });
});
