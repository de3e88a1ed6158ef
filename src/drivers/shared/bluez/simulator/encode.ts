import { createCipheriv } from 'node:crypto';

// The advertiser's side of the formats the BLE driver decodes: what a BTHome v2 thermometer (plain or
// encrypted), a Ruuvi tag (data format 5) and an ATC thermometer with pvvx firmware put on the air. The
// simulator keeps its own encoders so the decoders (src/drivers/ble/codec/) are checked against an
// independent implementation, not against themselves.

/** BlueZ keys ServiceData by the full 128-bit UUID string. */
export const BTHOME_UUID = '0000fcd2-0000-1000-8000-00805f9b34fb';
/** Environmental Sensing: the pvvx custom format is service data of this UUID. */
export const PVVX_UUID = '0000181a-0000-1000-8000-00805f9b34fb';
/** Ruuvi Innovations; BlueZ strips it from the bytes and uses it as the ManufacturerData key. */
export const RUUVI_COMPANY_ID = 0x0499;

/** BTHome v2 device information byte: version 2 in bits 5-7, bit 0 set when encrypted. */
const BTHOME_V2 = 0x40;
const BTHOME_ENCRYPTED = 0x01;

/** 'A4:C1:38:01:02:03' → bytes in the order printed (most significant first). */
export function macBytes(mac: string): Buffer {
  if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(mac)) throw new RangeError(`not a MAC address: "${mac}"`);
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

export function bindKeyBytes(bindKey: string): Buffer {
  if (!/^[0-9A-Fa-f]{32}$/.test(bindKey)) throw new RangeError('a bind key is 32 hex digits');
  return Buffer.from(bindKey, 'hex');
}

function wholeInRange(value: number, min: number, max: number, what: string): number {
  const whole = Math.round(value);
  if (!Number.isFinite(value) || whole < min || whole > max) {
    throw new RangeError(`${what} ${value} does not fit (${min}..${max} after scaling)`);
  }
  return whole;
}

/** The BTHome v2 objects the simulated thermometers send, in physical units. */
export interface BthomeValues {
  /** 0x00, uint8: lets a receiver drop repeats of one advertisement. */
  packetId?: number;
  /** 0x01, uint8, %. */
  battery?: number;
  /** 0x02, sint16, 0.01 °C. */
  temperature?: number;
  /** 0x03, uint16, 0.01 %. */
  humidity?: number;
  /** 0x04, uint24, 0.01 hPa. */
  pressure?: number;
  /** 0x0C, uint16, 0.001 V. */
  voltage?: number;
}

export interface BthomeEncryption {
  /** 32 hex digits, the device's bind key. */
  bindKey: string;
  /** The advertiser's address: part of the nonce. */
  mac: string;
  /** uint32, must grow with every advertisement (replay protection). */
  counter: number;
}

/** The objects in ascending id order, as BTHome v2 asks. */
function bthomeObjects(values: BthomeValues): Buffer {
  const parts: Buffer[] = [];
  const put = (id: number, bytes: number, value: number, signed = false) => {
    const buffer = Buffer.alloc(1 + bytes);
    buffer[0] = id;
    if (signed) buffer.writeIntLE(value, 1, bytes);
    else buffer.writeUIntLE(value, 1, bytes);
    parts.push(buffer);
  };
  if (values.packetId !== undefined) put(0x00, 1, wholeInRange(values.packetId, 0, 0xff, 'packet id'));
  if (values.battery !== undefined) put(0x01, 1, wholeInRange(values.battery, 0, 100, 'battery %'));
  if (values.temperature !== undefined) {
    put(0x02, 2, wholeInRange(values.temperature * 100, -0x8000, 0x7fff, 'temperature'), true);
  }
  if (values.humidity !== undefined) put(0x03, 2, wholeInRange(values.humidity * 100, 0, 0xffff, 'humidity'));
  if (values.pressure !== undefined)
    put(0x04, 3, wholeInRange(values.pressure * 100, 0, 0xffffff, 'pressure'));
  if (values.voltage !== undefined) put(0x0c, 2, wholeInRange(values.voltage * 1000, 0, 0xffff, 'voltage'));
  return Buffer.concat(parts);
}

/**
 * BTHome v2 service data (UUID FCD2, the UUID itself not included). Encrypted: AES-128-CCM with the bind
 * key, nonce = MAC + D2 FC + device info byte + counter (4 bytes, little-endian), 4-byte MIC; the payload
 * is device info, ciphertext, counter, MIC.
 */
export function encodeBthome(values: BthomeValues, encryption?: BthomeEncryption): Buffer {
  const objects = bthomeObjects(values);
  if (encryption === undefined) return Buffer.concat([Buffer.from([BTHOME_V2]), objects]);
  const info = BTHOME_V2 | BTHOME_ENCRYPTED;
  const counter = Buffer.alloc(4);
  counter.writeUInt32LE(wholeInRange(encryption.counter, 0, 0xffffffff, 'counter'));
  const nonce = Buffer.concat([macBytes(encryption.mac), Buffer.from([0xd2, 0xfc, info]), counter]);
  const cipher = createCipheriv('aes-128-ccm', bindKeyBytes(encryption.bindKey), nonce, { authTagLength: 4 });
  // CCM needs the plaintext length before any data (Node's rule); BTHome has no associated data.
  cipher.setAAD(Buffer.alloc(0), { plaintextLength: objects.length });
  const ciphertext = Buffer.concat([cipher.update(objects), cipher.final()]);
  return Buffer.concat([Buffer.from([info]), ciphertext, counter, cipher.getAuthTag()]);
}

/** Ruuvi data format 5 (RAWv2) in physical units. */
export interface RuuviValues {
  /** °C, 0.005 steps. */
  temperature: number;
  /** %, 0.0025 steps. */
  humidity: number;
  /** Pa (50000-115534). */
  pressure: number;
  /** mG per axis. */
  accelerationX: number;
  accelerationY: number;
  accelerationZ: number;
  /** mV (1600-3646). */
  batteryVoltage: number;
  /** dBm (-40 to +20, even). */
  txPower: number;
  movementCounter: number;
  measurementSequence: number;
  mac: string;
}

/** The 24 bytes after the company id: big-endian fields, then the tag's MAC. */
export function encodeRuuviDf5(values: RuuviValues): Buffer {
  const bytes = Buffer.alloc(24);
  bytes[0] = 0x05;
  bytes.writeInt16BE(wholeInRange(values.temperature / 0.005, -32767, 32767, 'temperature'), 1);
  bytes.writeUInt16BE(wholeInRange(values.humidity / 0.0025, 0, 40000, 'humidity'), 3);
  bytes.writeUInt16BE(wholeInRange(values.pressure - 50_000, 0, 65534, 'pressure'), 5);
  bytes.writeInt16BE(wholeInRange(values.accelerationX, -32767, 32767, 'acceleration x'), 7);
  bytes.writeInt16BE(wholeInRange(values.accelerationY, -32767, 32767, 'acceleration y'), 9);
  bytes.writeInt16BE(wholeInRange(values.accelerationZ, -32767, 32767, 'acceleration z'), 11);
  const battery = wholeInRange(values.batteryVoltage - 1600, 0, 2046, 'battery voltage');
  const tx = wholeInRange((values.txPower + 40) / 2, 0, 30, 'tx power');
  bytes.writeUInt16BE((battery << 5) | tx, 13);
  bytes[15] = wholeInRange(values.movementCounter, 0, 254, 'movement counter');
  bytes.writeUInt16BE(wholeInRange(values.measurementSequence, 0, 65534, 'measurement sequence'), 16);
  macBytes(values.mac).copy(bytes, 18);
  return bytes;
}

/** The pvvx custom format (ATC_MiThermometer firmware by pvvx), service data of UUID 181A. */
export interface PvvxValues {
  mac: string;
  /** °C, 0.01 steps. */
  temperature: number;
  /** %, 0.01 steps. */
  humidity: number;
  batteryMv: number;
  battery: number;
  /** uint8, grows with every new measurement. */
  counter: number;
  flags?: number;
}

/** 15 bytes, little-endian; the MAC is reversed (least significant byte first). */
export function encodePvvx(values: PvvxValues): Buffer {
  const bytes = Buffer.alloc(15);
  Buffer.from(macBytes(values.mac)).reverse().copy(bytes, 0);
  bytes.writeInt16LE(wholeInRange(values.temperature * 100, -0x8000, 0x7fff, 'temperature'), 6);
  bytes.writeUInt16LE(wholeInRange(values.humidity * 100, 0, 0xffff, 'humidity'), 8);
  bytes.writeUInt16LE(wholeInRange(values.batteryMv, 0, 0xffff, 'battery mV'), 10);
  bytes[12] = wholeInRange(values.battery, 0, 100, 'battery %');
  bytes[13] = wholeInRange(values.counter, 0, 0xff, 'counter');
  bytes[14] = wholeInRange(values.flags ?? 0, 0, 0xff, 'flags');
  return bytes;
}
