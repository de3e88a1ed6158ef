import { createDecipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BleDecodeError,
  type BleErrorCode,
  type BleReading,
  decodeAdvertisement,
  decodeBthome,
  encryptBthome,
} from '../src/drivers/ble/codec/index.js';
import { describeWithVectors, readVector } from './helpers/vectors.js';

// Conformance of the BLE decoders: every BTHome vector from bthome-ble's tests and the four official
// Ruuvi format 5 vectors, then BTHome payloads built here for what the vectors do not cover (units per
// object, encrypted with the MAC inside, device info objects) and every way a BTHome payload can be bad.
// ATC/pvvx, hand-made Ruuvi frames and the driver helpers are in ble-codec-formats.test.ts, the fuzz test
// in ble-codec-fuzz.test.ts, the CLI in ble-decode-cli.test.ts.

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

/** Half a unit in the last decimal the vector prints: bthome-ble rounds to the factor's decimals. */
function tolerance(expected: number): number {
  const decimals = /\.(\d+)$/.exec(String(expected))?.[1]?.length ?? 0;
  return 0.5 * 10 ** -decimals + 1e-9;
}

interface BthomeVector {
  test: string;
  payload_hex: string;
  address: string;
  bindkey_hex: string | null;
  expected: Record<string, unknown>;
}

interface ExpectedEvent {
  name: string;
  event_type: string;
  event_properties: { steps: number } | null;
}

/** "datetime(2023, 5, 14, 19, 41, 17, tzinfo=timezone.utc)" → ISO 8601. */
function pythonDatetime(text: string): string {
  const parts = /datetime\((\d+), (\d+), (\d+), (\d+), (\d+), (\d+), tzinfo=timezone\.utc\)/.exec(text);
  if (!parts) throw new Error(`unexpected datetime ${text}`);
  const [year, month, day, hour, minute, second] = parts.slice(1).map(Number) as [number, ...number[]];
  return new Date(Date.UTC(year, (month ?? 1) - 1, day, hour, minute, second)).toISOString();
}

// Where the vector file and the payload disagree, the payload wins, and the test says why:
/** The extraction kept the payload's first value and dropped a battery object at the end (bthome-ble decodes it too). */
const OMITTED: Record<string, Record<string, number>> = {
  test_bthome_triple_temperature_double_humidity_battery: { battery: 93 }, // ... 01 5d
  test_bthome_double_voltage_different_object_id: { battery: 51 }, // ... 01 33 ...
};
/**
 * bthome-ble's test sends two packets, 40 00 BD (189) then 40 00 BE (190), and checks the second; the
 * vector pairs the first payload with the second packet's expectation.
 */
const PACKET_ID_FROM_PAYLOAD: Record<string, number> = { test_increasing_packet_id: 189 };

function loadBthomeVectors(dir: string): BthomeVector[] {
  const path = join(dir, 'bthome_v2_vectors.json');
  if (!existsSync(path)) return [];
  return (JSON.parse(readVector(dir, 'bthome_v2_vectors.json')) as { vectors: BthomeVector[] }).vectors;
}

function compareWithVector(vector: BthomeVector, reading: BleReading): void {
  const { signal_strength: _rssi, packet_id: packetId, events, ...expectedValues } = vector.expected;
  const expected: Record<string, unknown> = { ...expectedValues, ...OMITTED[vector.test] };
  expect(Object.keys(reading.values).sort()).toEqual(Object.keys(expected).sort());
  for (const [key, value] of Object.entries(expected)) {
    const actual = reading.values[key];
    if (typeof value === 'number') {
      expect(typeof actual, key).toBe('number');
      expect(
        Math.abs((actual as number) - value),
        `${key}: ${String(actual)} vs ${value}`,
      ).toBeLessThanOrEqual(tolerance(value));
    } else if (key === 'timestamp') {
      expect(actual).toBe(pythonDatetime(String(value)));
    } else {
      expect(actual, key).toEqual(value);
    }
    expect(reading.meta[key], `meta of ${key}`).toBeDefined();
  }
  expect(reading.packetId).toBe(PACKET_ID_FROM_PAYLOAD[vector.test] ?? packetId);
  const wantedEvents = ((events ?? []) as ExpectedEvent[]).map((event) => ({
    key: event.name.toLowerCase().replace(/ /g, '_'),
    type: event.name.split(' ')[0]?.toLowerCase(),
    event: event.event_type,
    ...(event.event_properties ? { steps: event.event_properties.steps } : {}),
  }));
  expect(reading.events).toEqual(wantedEvents);
}

describeWithVectors('BTHome v2 vectors (bthome-ble tests/test_parser_v2.py)', 'bthome', (dir) => {
  const vectors = loadBthomeVectors(dir);

  it('has the 81 vectors, 4 of them encrypted', () => {
    expect(vectors).toHaveLength(81);
    expect(vectors.filter((vector) => vector.bindkey_hex !== null)).toHaveLength(4);
  });

  it.each(vectors.map((vector) => [vector.test, vector] as const))('%s', (name, vector) => {
    const payload = hex(vector.payload_hex);
    const options = { mac: vector.address, bindKey: vector.bindkey_hex ?? undefined };
    if (name === 'test_bindkey_wrong') {
      // bthome-ble reports nothing but the RSSI; here the driver gets the reason.
      expectError(() => decodeBthome(payload, options), 'decrypt_failed', /wrong bind key/);
      expectError(() => decodeBthome(payload, { mac: vector.address }), 'missing_key', /no bind key/);
      return;
    }
    const reading = decodeBthome(payload, options);
    expect(reading.format).toBe('bthome');
    expect(reading.encrypted).toBe(vector.bindkey_hex !== null);
    compareWithVector(vector, reading);
    if (vector.bindkey_hex !== null) {
      const objects = decryptByHand(payload, vector.address, vector.bindkey_hex);
      // The same objects sent in the clear decode to the same reading…
      expect(decodeBthome(Buffer.concat([hex('40'), objects])).values).toEqual(reading.values);
      // …and encrypting them again with the device's counter gives the device's bytes back.
      const counter = payload.readUInt32LE(payload.length - 8);
      expect(reading.encryptionCounter).toBe(counter);
      expect(encryptBthome(objects, { mac: vector.address, bindKey: vector.bindkey_hex, counter })).toEqual(
        payload,
      );
      expectError(() => decodeBthome(payload, { mac: vector.address }), 'missing_key', /encrypted/);
    }
  });

  it('takes the nonce MAC from the payload when it carries one (test_bthome_with_mac)', () => {
    const vector = vectors.find((candidate) => candidate.test === 'test_bthome_with_mac');
    expect(decodeBthome(hex(vector?.payload_hex ?? '')).mac).toBe('A4:C1:38:8D:18:B2');
  });

  it('decodes the second packet of test_increasing_packet_id as 190', () => {
    expect(decodeBthome(hex('4000be')).packetId).toBe(190);
  });
});

/**
 * The BTHome v2 decryption written out from the spec, independently of the decoder: AES-128-CCM, 4-byte
 * MIC, nonce = MAC + D2 FC + device info byte + counter.
 */
function decryptByHand(payload: Buffer, mac: string, key: string): Buffer {
  const counter = payload.subarray(payload.length - 8, payload.length - 4);
  const nonce = Buffer.concat([hex(mac.replace(/:/g, '')), hex('d2fc'), payload.subarray(0, 1), counter]);
  const decipher = createDecipheriv('aes-128-ccm', hex(key), nonce, { authTagLength: 4 });
  decipher.setAuthTag(payload.subarray(payload.length - 4));
  const plain = decipher.update(payload.subarray(1, payload.length - 8));
  decipher.final();
  return plain;
}

interface RuuviVector {
  case: string;
  manufacturer_data_hex: string;
  expected: Record<string, number | string | null>;
}

describeWithVectors('Ruuvi data format 5 vectors (ruuvi-sensor-protocols)', 'ruuvi', (dir) => {
  const path = join(dir, 'ruuvi_df5_vectors.json');
  const vectors = existsSync(path)
    ? (JSON.parse(readVector(dir, 'ruuvi_df5_vectors.json')) as { vectors: RuuviVector[] }).vectors
    : [];
  /** Vector field → our key and the factor from the vector's unit to ours (Pa → hPa). */
  const fields: Record<string, [string, number]> = {
    temperature_c: ['temperature', 1],
    pressure_pa: ['pressure', 0.01],
    humidity_pct: ['humidity', 1],
    acc_x_g: ['acceleration_x', 1],
    acc_y_g: ['acceleration_y', 1],
    acc_z_g: ['acceleration_z', 1],
    tx_power_dbm: ['tx_power', 1],
    battery_v: ['voltage', 1],
    movement_counter: ['movement_counter', 1],
    measurement_sequence: ['measurement_sequence', 1],
  };

  it('has the four vectors', () =>
    expect(vectors.map((vector) => vector.case)).toEqual(['valid', 'maximum', 'minimum', 'invalid']));

  it.each(vectors.map((vector) => [vector.case, vector] as const))('%s', (_, vector) => {
    const reading = decodeAdvertisement({
      manufacturerData: { 0x0499: hex(vector.manufacturer_data_hex) },
      mac: 'CB:B8:33:4C:88:4F',
    });
    expect(reading?.format).toBe('ruuvi');
    const { mac, ...expected } = vector.expected;
    expect(Object.keys(reading?.values ?? {}).sort()).toEqual(
      Object.values(fields)
        .map(([key]) => key)
        .sort(),
    );
    for (const [field, value] of Object.entries(expected)) {
      const [key, factor] = fields[field] ?? ['?', 1];
      const actual = reading?.values[key];
      if (value === null) expect(actual, key).toBeNull();
      else expect(actual as number, key).toBeCloseTo(Number(value) * factor, 9);
    }
    expect(reading?.mac ?? null).toBe(mac);
    expect(reading?.packetId ?? null).toBe(vector.expected.measurement_sequence);
  });
});

describe('BTHome v2 (hand-made payloads)', () => {
  it('reads the device info byte: version, trigger based, MAC included', () => {
    const reading = decodeBthome(hex('46 b2188d38c1a4 02ca09'));
    expect(reading).toMatchObject({ triggerBased: true, encrypted: false, mac: 'A4:C1:38:8D:18:B2' });
    expect(reading.values).toEqual({ temperature: 25.06 });
    expect(reading.meta.temperature).toEqual({
      component: 'sensor',
      deviceClass: 'temperature',
      unit: '°C',
      stateClass: 'measurement',
    });
  });

  it('reports the unit each object really has', () => {
    expect(decodeBthome(hex('40 07 3e1d')).meta.mass?.unit).toBe('lb');
    expect(decodeBthome(hex('40 06 5e1f')).meta.mass?.unit).toBe('kg');
    expect(decodeBthome(hex('40 41 4e00')).meta.distance?.unit).toBe('m');
    expect(decodeBthome(hex('40 48 dc87')).meta.volume?.unit).toBe('mL');
    expect(decodeBthome(hex('40 1a 01')).meta.door).toEqual({
      component: 'binary_sensor',
      deviceClass: 'door',
    });
  });

  it('numbers a sensor and a binary sensor of the same name apart', () => {
    const reading = decodeBthome(hex('40 0b 102700 10 01'));
    expect(reading.values).toEqual({ power_1: 100, power_2: true });
    expect(reading.meta.power_1?.component).toBe('sensor');
    expect(reading.meta.power_2?.component).toBe('binary_sensor');
  });

  it('reads device type and firmware version objects', () => {
    const reading = decodeBthome(hex('40 f0 0100 f1 00010204'));
    expect(reading).toMatchObject({ deviceTypeId: 1, firmwareVersion: '4.2.1.0', values: {} });
    expect(decodeBthome(hex('40 f2 000106')).firmwareVersion).toBe('6.1.0');
  });

  it('decodes an encrypted payload that carries its MAC, and rejects a wrong MAC', () => {
    const key = '231d39c1d7cc1ab1aee224cd096db932';
    const data = encryptBthome(hex('02ca09 2101'), {
      mac: '11:22:33:44:55:66',
      bindKey: key,
      counter: 7,
      includeMac: true,
    });
    const reading = decodeBthome(data, { bindKey: key });
    expect(reading).toMatchObject({ encrypted: true, encryptionCounter: 7, mac: '11:22:33:44:55:66' });
    expect(reading.values).toEqual({ temperature: 25.06, motion: true });
    const plain = encryptBthome(hex('2101'), { mac: '11:22:33:44:55:66', bindKey: key, counter: 1 });
    expectError(
      () => decodeBthome(plain, { bindKey: key, mac: '11:22:33:44:55:67' }),
      'decrypt_failed',
      /MIC/,
    );
    expect(decodeBthome(plain, { bindKey: hex(key), mac: '112233445566' }).values).toEqual({ motion: true });
  });

  it('refuses a plain payload from a device that has a bind key (spoofing)', () => {
    expectError(
      () => decodeBthome(hex('40 2101'), { bindKey: '231d39c1d7cc1ab1aee224cd096db932' }),
      'not_encrypted',
      /has a bind key but sent an unencrypted BTHome payload/,
    );
  });

  it('keeps what precedes an unknown object, or refuses it in strict mode', () => {
    const reading = decodeBthome(hex('40 015d fe5d09'));
    expect(reading.values).toEqual({ battery: 93 });
    expect(reading.warnings).toEqual([
      'unknown BTHome object FE at byte 3: it and the 2 bytes after it are skipped',
    ]);
    expectError(
      () => decodeBthome(hex('40 015d fe5d09'), { strict: true }),
      'unknown_object',
      /object FE at byte 3/,
    );
  });

  it.each([
    ['', 'too_short', /empty/],
    ['e1 02000c 04138a01', 'bad_version', /version 7/],
    ['20 02ca09', 'bad_version', /version 1; only version 2/],
    ['42 b2188d', 'too_short', /a MAC follows, but only 3 bytes/],
    ['40 02ca', 'too_short', /object 02 \(temperature\) at byte 1 needs 2 data bytes, only 1 left/],
    ['40 0d0c', 'too_short', /\(pm25\)/],
    ['40 53', 'too_short', /object 53 \(text\) at byte 1 has no length byte/],
    ['40 53 05 4142', 'too_short', /needs 5 data bytes, only 2 left/],
    ['41 0011223344', 'missing_key', /encrypted and no bind key/],
  ] as const)('refuses %s with %s', (payload, code, message) => {
    expectError(() => decodeBthome(hex(payload)), code, message);
  });

  it('refuses unusable arguments for encrypted payloads', () => {
    const data = hex('41 0011223344556677');
    expectError(() => decodeBthome(data, { bindKey: 'abcd' }), 'bad_argument', /32 hex digits, got 4/);
    expectError(() => decodeBthome(data, { bindKey: 'x'.repeat(32) }), 'bad_argument', /other characters/);
    expectError(
      () => decodeBthome(data, { bindKey: new Uint8Array(15) }),
      'bad_argument',
      /16 bytes, got 15/,
    );
    expectError(
      () => decodeBthome(data, { bindKey: new Uint8Array(16) }),
      'bad_argument',
      /needs the device MAC/,
    );
    expectError(
      () => decodeBthome(data, { bindKey: new Uint8Array(16), mac: 'nope' }),
      'bad_argument',
      /not a MAC/,
    );
    expectError(
      () => decodeBthome(hex('41 00112233'), { bindKey: new Uint8Array(16), mac: '00:00:00:00:00:00' }),
      'too_short',
      /needs at least 8/,
    );
  });
});
