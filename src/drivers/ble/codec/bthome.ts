import { createCipheriv, createDecipheriv } from 'node:crypto';
import { BTHOME_OBJECTS, BUTTON_EVENTS, DIMMER_EVENTS, type BthomeObject } from './bthomeObjects.js';
import { fail, formatMac, hexByte, parseMac } from './errors.js';
import type { BleReading } from './types.js';

// BTHome v2 (bthome.io): the service data of UUID 0xFCD2. One device info byte, an optional MAC, then
// objects (an id byte and its data), optionally AES-CCM encrypted:
//
//   info   bit 0 encrypted, bit 1 MAC included, bit 2 trigger based, bits 5-7 version (2)
//   [MAC]  6 bytes, least significant first (when bit 1 is set)
//   plain: objects…
//   encrypted: ciphertext of the objects…, counter (uint32 LE), MIC (4 bytes)
//          nonce = MAC (6, most significant first) + UUID FCD2 (LE: D2 FC) + info byte + counter
//
// Names, factors and the _1/_2 suffixes follow bthome-ble, Home Assistant's own parser, so a device
// gives the same keys here as in Home Assistant's BTHome integration.

export const BTHOME_UUID16 = 0xfcd2;

const ENCRYPTED = 0x01;
const MAC_INCLUDED = 0x02;
const TRIGGER_BASED = 0x04;
/** Counter and MIC follow the ciphertext. */
const CRYPTO_TRAILER = 8;

export interface BthomeOptions {
  /** The advertiser's MAC ("A4:C1:38:8D:18:B2"): the nonce of an encrypted payload that does not include it. */
  mac?: string;
  /**
   * The device's 16-byte bind key, as bytes or 32 hex digits. Needed for encrypted payloads; when given,
   * a plain payload is refused (not_encrypted), so nobody can feed the device's entities by sending
   * unencrypted advertisements with its MAC.
   */
  bindKey?: Uint8Array | string;
  /**
   * Throw unknown_object for an object id this decoder does not know. By default it stops there and
   * keeps what came before, with a warning, as bthome-ble does: a device with newer firmware still
   * reports the values this gateway understands.
   */
  strict?: boolean;
}

/** A bind key as 16 bytes, from bytes or 32 hex digits. Messages never show the key: it is a secret. */
export function parseBindKey(key: Uint8Array | string): Buffer {
  if (typeof key !== 'string') {
    if (key.length !== 16) fail('bad_argument', `a BTHome bind key is 16 bytes, got ${key.length}`);
    return Buffer.from(key);
  }
  if (!/^[0-9a-fA-F]*$/.test(key))
    fail('bad_argument', 'a BTHome bind key is 32 hex digits, got other characters');
  if (key.length !== 32) fail('bad_argument', `a BTHome bind key is 32 hex digits, got ${key.length}`);
  return Buffer.from(key, 'hex');
}

function nonceOf(mac: Buffer, info: number, counter: Uint8Array): Buffer {
  return Buffer.concat([mac, Buffer.from([BTHOME_UUID16 & 0xff, BTHOME_UUID16 >> 8, info]), counter]);
}

export interface BthomeEncryptOptions {
  /** The device MAC, most significant byte first: part of the nonce. */
  mac: string;
  bindKey: Uint8Array | string;
  /** The encryption counter (uint32); a real device increments it with every advertisement. */
  counter: number;
  /** Put the MAC into the payload too (device info bit 1). */
  includeMac?: boolean;
  /** Set the trigger-based flag (device info bit 2). */
  triggerBased?: boolean;
}

/**
 * The inverse of decodeBthome's decryption: encrypted service data for the given plain objects. For the
 * simulated BLE device and tests; the gateway itself only receives.
 */
export function encryptBthome(objects: Uint8Array, options: BthomeEncryptOptions): Buffer {
  const info =
    0x40 | ENCRYPTED | (options.includeMac ? MAC_INCLUDED : 0) | (options.triggerBased ? TRIGGER_BASED : 0);
  const mac = parseMac(options.mac);
  if (!Number.isInteger(options.counter) || options.counter < 0 || options.counter > 0xffffffff) {
    fail('bad_argument', `encryption counter ${options.counter} is not a uint32`);
  }
  const counter = Buffer.alloc(4);
  counter.writeUInt32LE(options.counter);
  const cipher = createCipheriv('aes-128-ccm', parseBindKey(options.bindKey), nonceOf(mac, info, counter), {
    authTagLength: 4,
  });
  const ciphertext = Buffer.concat([cipher.update(objects), cipher.final()]);
  const header = options.includeMac ? [info, ...Buffer.from(mac).reverse()] : [info];
  return Buffer.concat([Buffer.from(header), ciphertext, counter, cipher.getAuthTag()]);
}

interface Decrypted {
  plaintext: Buffer;
  counter: number;
}

function decrypt(info: number, body: Uint8Array, mac: Buffer, key: Buffer): Decrypted {
  if (body.length < CRYPTO_TRAILER) {
    fail(
      'too_short',
      `encrypted BTHome payload has ${body.length} bytes after the header, needs at least 8 (counter and MIC)`,
    );
  }
  const ciphertext = body.subarray(0, body.length - CRYPTO_TRAILER);
  const counter = body.subarray(body.length - CRYPTO_TRAILER, body.length - 4);
  const mic = body.subarray(body.length - 4);
  try {
    const decipher = createDecipheriv('aes-128-ccm', key, nonceOf(mac, info, counter), { authTagLength: 4 });
    decipher.setAuthTag(mic);
    const plaintext = decipher.update(ciphertext);
    decipher.final();
    return { plaintext, counter: Buffer.from(counter).readUInt32LE(0) };
  } catch {
    // Node says only "Unsupported state or unable to authenticate data"; the useful cause is the key.
    return fail(
      'decrypt_failed',
      'cannot decrypt the BTHome payload: the MIC does not match (wrong bind key, wrong MAC, or damaged data)',
    );
  }
}

/** Decodes the service data of UUID 0xFCD2. Throws BleDecodeError for data that is not valid BTHome v2. */
export function decodeBthome(serviceData: Uint8Array, options: BthomeOptions = {}): BleReading {
  if (serviceData.length === 0) fail('too_short', 'BTHome service data is empty (no device info byte)');
  const info = serviceData[0] ?? 0;
  const version = (info >> 5) & 7;
  if (version !== 2) {
    fail(
      'bad_version',
      `BTHome device info byte ${hexByte(info)} says version ${version}; only version 2 exists`,
    );
  }
  const reading: BleReading = {
    format: 'bthome',
    values: {},
    meta: {},
    events: [],
    encrypted: (info & ENCRYPTED) !== 0,
    triggerBased: (info & TRIGGER_BASED) !== 0,
    warnings: [],
  };
  let offset = 1;
  if (info & MAC_INCLUDED) {
    if (serviceData.length < 7) {
      fail('too_short', `BTHome device info says a MAC follows, but only ${serviceData.length - 1} bytes do`);
    }
    reading.mac = formatMac(Buffer.from(serviceData.subarray(1, 7)).reverse());
    offset = 7;
  }
  const body = serviceData.subarray(offset);
  if (!reading.encrypted && options.bindKey !== undefined) {
    fail(
      'not_encrypted',
      'the device has a bind key but sent an unencrypted BTHome payload (could be spoofed)',
    );
  }
  if (!reading.encrypted) {
    decodeObjects(body, reading, (at) => `byte ${offset + at}`, options.strict === true);
    return reading;
  }
  if (options.bindKey === undefined) {
    fail('missing_key', 'the BTHome payload is encrypted and no bind key is configured for this device');
  }
  const key = parseBindKey(options.bindKey);
  const mac = reading.mac ?? options.mac;
  if (mac === undefined)
    fail('bad_argument', 'decrypting a BTHome payload needs the device MAC (for the nonce)');
  const { plaintext, counter } = decrypt(info, body, parseMac(mac), key);
  reading.encryptionCounter = counter;
  decodeObjects(plaintext, reading, (at) => `byte ${at} of the decrypted payload`, options.strict === true);
  return reading;
}

interface Item {
  object: BthomeObject;
  data: Uint8Array;
}

/** Splits the payload into objects; throws when one runs past the end. */
function splitObjects(
  payload: Uint8Array,
  reading: BleReading,
  where: (at: number) => string,
  strict: boolean,
) {
  const items: Item[] = [];
  let at = 0;
  while (at < payload.length) {
    const id = payload[at] ?? 0;
    const object = BTHOME_OBJECTS.get(id);
    const name = `BTHome object ${hexByte(id)}${object ? ` (${object.key})` : ''} at ${where(at)}`;
    if (object === undefined) {
      if (strict) fail('unknown_object', `unknown ${name}`);
      // Objects carry no length, so nothing after an unknown one can be found.
      reading.warnings.push(
        `unknown ${name}: it and the ${payload.length - at - 1} bytes after it are skipped`,
      );
      break;
    }
    let start = at + 1;
    let length = object.length;
    if (object.kind === 'text' || object.kind === 'raw') {
      if (start >= payload.length) fail('too_short', `${name} has no length byte`);
      length = payload[start] ?? 0;
      start += 1;
    }
    const end = start + length;
    if (end > payload.length) {
      fail('too_short', `${name} needs ${length} data bytes, only ${payload.length - start} left`);
    }
    if (length === 0) reading.warnings.push(`${name} is empty; skipped`);
    else items.push({ object, data: payload.subarray(start, end) });
    at = end;
  }
  return items;
}

function readInteger(data: Uint8Array, signed: boolean): number {
  let value = 0;
  for (let i = data.length - 1; i >= 0; i--) value = value * 256 + (data[i] ?? 0);
  const range = 2 ** (8 * data.length);
  return signed && value >= range / 2 ? value - range : value;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Keys (and event keys) that more than one object of this payload would use: they get _1, _2… */
function duplicatedKeys(items: readonly Item[]): Set<string> {
  const seen = new Set<string>();
  const duplicated = new Set<string>();
  for (const { object } of items) {
    if (object.kind === 'packet_id' || object.kind === 'device_type' || object.kind === 'firmware') continue;
    if (seen.has(object.key)) duplicated.add(object.key);
    seen.add(object.key);
  }
  return duplicated;
}

function decodeObjects(
  payload: Uint8Array,
  reading: BleReading,
  where: (at: number) => string,
  strict: boolean,
) {
  const items = splitObjects(payload, reading, where, strict);
  const duplicated = duplicatedKeys(items);
  const counters = new Map<string, number>();
  for (const { object, data } of items) {
    let key = object.key;
    if (duplicated.has(key)) {
      const index = (counters.get(key) ?? 0) + 1;
      counters.set(key, index);
      key = `${key}_${index}`;
    }
    const first = data[0] ?? 0;
    const set = (value: number | boolean | string) => {
      reading.values[key] = value;
      if (object.meta) reading.meta[key] = { ...object.meta };
    };
    switch (object.kind) {
      case 'number':
        set((readInteger(data, object.signed) * object.numerator) / object.denominator);
        break;
      case 'binary':
        set(first !== 0);
        break;
      case 'timestamp':
        set(new Date(readInteger(data, false) * 1000).toISOString());
        break;
      case 'raw':
        set(Buffer.from(data).toString('hex'));
        break;
      case 'text':
        try {
          set(utf8.decode(data));
        } catch {
          reading.warnings.push(`BTHome text ${key} is not UTF-8; skipped`);
        }
        break;
      case 'button':
      case 'dimmer': {
        const events = object.kind === 'button' ? BUTTON_EVENTS : DIMMER_EVENTS;
        const event = events.get(first);
        if (event === undefined)
          reading.warnings.push(`unknown ${object.kind} event ${hexByte(first)} for ${key}`);
        // "none" marks the idle buttons of a multi-button device; it only keeps the numbering. Dimmer
        // steps are unsigned as on bthome.io (bthome-ble reads them signed; the same below 128).
        else if (event !== 'none') {
          reading.events.push(
            object.kind === 'dimmer'
              ? { key, type: 'dimmer', event, steps: data[1] ?? 0 }
              : { key, type: 'button', event },
          );
        }
        break;
      }
      case 'packet_id':
        reading.packetId ??= first;
        break;
      case 'device_type':
        reading.deviceTypeId = readInteger(data, false);
        break;
      case 'firmware':
        reading.firmwareVersion = Array.from(data).reverse().join('.');
        break;
    }
  }
}
