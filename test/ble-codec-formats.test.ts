import { describe, expect, it } from 'vitest';
import {
  BleDecodeError,
  type BleErrorCode,
  decodeAdvertisement,
  decodeAtc,
  decodeRuuvi,
  encryptBthome,
  isDuplicate,
  PacketIdFilter,
  parseHexBytes,
  sensorMetadata,
  uuid16,
} from '../src/drivers/ble/codec/index.js';

// The fixed-size BLE formats from frames built here field by field (ATC1441 and pvvx, whose firmwares
// publish no test vectors; Ruuvi beside its official vectors in ble-codec.test.ts), each refused with a
// BleDecodeError when malformed, and what the driver uses around the decoders: decodeAdvertisement's
// choice of decoder, the packet-id repeat filter, Home Assistant metadata, hex input.

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');

function expectError(run: () => unknown, code: BleErrorCode, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BleDecodeError);
  expect(caught).toMatchObject({ code, message: expect.stringMatching(message) });
}
/** ATC1441: MAC (MSB first), temperature int16 BE ×0.1, humidity %, battery %, battery mV BE, counter. */
function atc1441(
  mac: string,
  temperature: number,
  humidity: number,
  battery: number,
  mv: number,
  counter: number,
) {
  const frame = Buffer.alloc(13);
  hex(mac.replace(/:/g, '')).copy(frame, 0);
  frame.writeInt16BE(Math.round(temperature * 10), 6);
  frame.writeUInt8(humidity, 8);
  frame.writeUInt8(battery, 9);
  frame.writeUInt16BE(mv, 10);
  frame.writeUInt8(counter, 12);
  return frame;
}

/** pvvx: MAC (LSB first), temperature int16 LE ×0.01, humidity uint16 LE ×0.01, mV LE, battery %, counter, flags. */
function pvvx(
  mac: string,
  temperature: number,
  humidity: number,
  mv: number,
  battery: number,
  counter: number,
  flags: number,
) {
  const frame = Buffer.alloc(15);
  hex(mac.replace(/:/g, '')).reverse().copy(frame, 0);
  frame.writeInt16LE(Math.round(temperature * 100), 6);
  frame.writeUInt16LE(Math.round(humidity * 100), 8);
  frame.writeUInt16LE(mv, 10);
  frame.writeUInt8(battery, 12);
  frame.writeUInt8(counter, 13);
  frame.writeUInt8(flags, 14);
  return frame;
}

describe('ATC1441 and pvvx (service data 0x181A)', () => {
  it('decodes ATC1441 (13 bytes, big-endian)', () => {
    const frame = atc1441('A4:C1:38:11:22:33', 23.4, 45, 87, 2987, 42);
    expect(frame).toEqual(hex('a4c138112233 00ea 2d 57 0bab 2a'));
    expect(decodeAtc(frame)).toMatchObject({
      format: 'atc1441',
      mac: 'A4:C1:38:11:22:33',
      packetId: 42,
      values: { temperature: 23.4, humidity: 45, battery: 87, voltage: 2.987 },
    });
    expect(decodeAtc(atc1441('A4:C1:38:11:22:33', -5.2, 99, 5, 2100, 255)).values.temperature).toBe(-5.2);
  });

  it('decodes pvvx custom (15 bytes, little-endian, flags)', () => {
    const frame = pvvx('A4:C1:38:11:22:33', 23.45, 45.67, 2987, 87, 42, 0b00101);
    expect(frame).toEqual(hex('332211 38c1a4 2909 d711 ab0b 57 2a 05'));
    const reading = decodeAtc(frame);
    expect(reading).toMatchObject({ format: 'pvvx', mac: 'A4:C1:38:11:22:33', packetId: 42 });
    expect(reading.values).toEqual({
      temperature: 23.45,
      humidity: 45.67,
      battery: 87,
      voltage: 2.987,
      reed_switch: true,
      trigger_output: false,
      trigger_by_thresholds: true,
      temperature_trigger: false,
      humidity_trigger: false,
    });
    expect(decodeAtc(pvvx('A4:C1:38:11:22:33', -12.34, 0, 0, 0, 0, 0x18)).values).toMatchObject({
      temperature: -12.34,
      temperature_trigger: true,
      humidity_trigger: true,
    });
    expect(reading.meta.reed_switch?.component).toBe('binary_sensor');
    expect(reading.meta.voltage).toMatchObject({ deviceClass: 'voltage', unit: 'V' });
  });

  it.each([
    [0, 'too_short'],
    [12, 'too_short'],
    [14, 'bad_length'],
    [16, 'bad_length'],
  ] as const)('refuses %i bytes with %s', (length, code) => {
    expectError(
      () => decodeAtc(Buffer.alloc(length)),
      code,
      new RegExp(`has ${length} bytes; ATC1441 has 13 and pvvx 15`),
    );
  });
});

describe('Ruuvi format 5 (hand-made)', () => {
  const valid = hex('0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F');

  it('accepts the data with the company id still in front', () => {
    expect(decodeRuuvi(Buffer.concat([hex('9904'), valid])).values).toEqual(decodeRuuvi(valid).values);
  });

  it.each([
    ['', 'too_short', /empty/],
    ['03291A1ECE1EFC18F94202CA0B53', 'bad_format', /format 03 is not supported/],
    [valid.subarray(0, 23).toString('hex'), 'too_short', /24 bytes, got 23/],
    [`${valid.toString('hex')}00`, 'bad_length', /24 bytes, got 25/],
  ] as const)('refuses %s with %s', (payload, code, message) => {
    expectError(() => decodeRuuvi(hex(payload)), code, message);
  });
});

describe('decodeAdvertisement', () => {
  const mac = 'A4:C1:38:8D:18:B2';

  it('picks the decoder from the service data UUID or the manufacturer id', () => {
    const full = '0000fcd2-0000-1000-8000-00805f9b34fb';
    expect(decodeAdvertisement({ serviceData: { [full]: hex('4002ca09') }, mac })?.format).toBe('bthome');
    expect(decodeAdvertisement({ serviceData: { '0xFCD2': hex('4002ca09') }, mac })?.format).toBe('bthome');
    const atc = atc1441(mac, 20, 50, 90, 3000, 1);
    expect(
      decodeAdvertisement({ serviceData: { '0000181A-0000-1000-8000-00805F9B34FB': atc }, mac })?.format,
    ).toBe('atc1441');
    const ruuvi = hex('0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F');
    expect(decodeAdvertisement({ manufacturerData: { 1177: ruuvi }, mac })?.format).toBe('ruuvi');
  });

  it('passes the bind key and the advertiser MAC to BTHome', () => {
    const bindKey = '231d39c1d7cc1ab1aee224cd096db932';
    const data = encryptBthome(hex('2101'), { mac, bindKey, counter: 3 });
    expect(decodeAdvertisement({ serviceData: { fcd2: data }, mac, bindKey })?.values).toEqual({
      motion: true,
    });
    expectError(() => decodeAdvertisement({ serviceData: { fcd2: data }, mac }), 'missing_key', /bind key/);
  });

  it('is undefined when nothing known is present', () => {
    expect(decodeAdvertisement({ mac })).toBeUndefined();
    expect(
      decodeAdvertisement({ serviceData: { '0000feaa-0000-1000-8000-00805f9b34fb': hex('10') }, mac }),
    ).toBeUndefined();
    expect(decodeAdvertisement({ manufacturerData: { 0x004c: hex('0215') }, mac })).toBeUndefined();
    // A Ruuvi in another data format (3, RAWv1) is not decoded.
    expect(
      decodeAdvertisement({ manufacturerData: { 0x0499: hex('03291A1ECE1EFC18F94202CA0B53') }, mac }),
    ).toBeUndefined();
  });

  it('throws for known but bad data', () => {
    expectError(
      () => decodeAdvertisement({ serviceData: { '181a': hex('0102') }, mac }),
      'too_short',
      /181A has 2 bytes/,
    );
    expectError(
      () => decodeAdvertisement({ serviceData: { fcd2: hex('00') }, mac }),
      'bad_version',
      /version 0/,
    );
  });

  it('reads 16-bit UUIDs only from the Bluetooth base range', () => {
    expect(uuid16('0000FCD2-0000-1000-8000-00805F9B34FB')).toBe(0xfcd2);
    expect(uuid16('181a')).toBe(0x181a);
    expect(uuid16('6e400001-b5a3-f393-e0a9-e50e24dcca9e')).toBeUndefined();
  });
});

describe('packet id repeats', () => {
  it('isDuplicate: equal or behind is a repeat, ahead by 1-63 (mod 256) is new', () => {
    expect(isDuplicate(9, 9)).toBe(true);
    expect(isDuplicate(9, 8)).toBe(true);
    expect(isDuplicate(189, 190)).toBe(false);
    expect(isDuplicate(255, 0)).toBe(false);
    expect(isDuplicate(10, 73)).toBe(false);
    expect(isDuplicate(10, 74)).toBe(true);
    expect(isDuplicate(undefined, 5)).toBe(false);
    expect(isDuplicate(65535, 0, 65536)).toBe(false);
  });

  it('PacketIdFilter follows bthome-ble: repeats dropped, any id accepted after 4 s', () => {
    const filter = new PacketIdFilter();
    const bthome = (packetId: number) => ({ format: 'bthome' as const, packetId });
    expect(filter.accept(mac(1), bthome(9), 0)).toBe(true);
    expect(filter.accept(mac(1), bthome(9), 100)).toBe(false);
    expect(filter.accept(mac(1), bthome(8), 200)).toBe(false);
    expect(filter.accept(mac(2), bthome(9), 200)).toBe(true);
    expect(filter.accept(mac(1), bthome(9), 5000)).toBe(true);
    expect(filter.accept(mac(1), bthome(10), 5100)).toBe(true);
    expect(filter.accept(mac(1), { format: 'bthome' }, 5100)).toBe(true);
    filter.forget(mac(1));
    expect(filter.accept(mac(1), bthome(10), 5200)).toBe(true);
    expect(filter.accept(mac(3), { format: 'ruuvi', packetId: 300 }, 0)).toBe(true);
    expect(filter.accept(mac(3), { format: 'ruuvi', packetId: 301 }, 10)).toBe(true);
  });

  function mac(n: number): string {
    return `00:00:00:00:00:0${n}`;
  }
});

describe('sensorMetadata', () => {
  it('answers for the keys the decoders produce', () => {
    expect(sensorMetadata('temperature_2')).toMatchObject({
      deviceClass: 'temperature',
      unit: '°C',
      stateClass: 'measurement',
    });
    expect(sensorMetadata('pressure')).toMatchObject({ deviceClass: 'pressure', unit: 'hPa' });
    expect(sensorMetadata('carbon_dioxide')).toMatchObject({ deviceClass: 'carbon_dioxide', unit: 'ppm' });
    expect(sensorMetadata('pm25')).toMatchObject({ deviceClass: 'pm25', unit: 'µg/m³' });
    expect(sensorMetadata('energy')).toMatchObject({ unit: 'kWh', stateClass: 'total_increasing' });
    expect(sensorMetadata('signal_strength')).toMatchObject({ unit: 'dBm', diagnostic: true });
    expect(sensorMetadata('timestamp')).toEqual({ component: 'sensor', deviceClass: 'timestamp' });
    expect(sensorMetadata('door')).toEqual({ component: 'binary_sensor', deviceClass: 'door' });
    expect(sensorMetadata('power', true)).toEqual({ component: 'binary_sensor', deviceClass: 'power' });
    expect(sensorMetadata('power', 12.5)).toMatchObject({ component: 'sensor', unit: 'W' });
    expect(sensorMetadata('acceleration_x')).toMatchObject({ unit: 'g' });
    expect(sensorMetadata('no_such_thing')).toBeUndefined();
  });

  it('gives copies, so a caller cannot change the table', () => {
    const meta = sensorMetadata('temperature');
    if (meta) meta.unit = '°F';
    expect(sensorMetadata('temperature')?.unit).toBe('°C');
  });
});

describe('parseHexBytes', () => {
  it('reads hex as people paste it and refuses anything else', () => {
    expect(parseHexBytes('0x40 02:ca-09')).toEqual(hex('4002ca09'));
    expectError(() => parseHexBytes('40 0G'), 'bad_argument', /"G" is not a hex digit/);
    expectError(() => parseHexBytes('400'), 'bad_argument', /odd number of hex digits \(3\)/);
    expectError(() => parseHexBytes('  '), 'bad_argument', /no bytes/);
  });
});
