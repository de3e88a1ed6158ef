import { ATC_UUID16, decodeAtc } from './atc.js';
import { BTHOME_UUID16, decodeBthome } from './bthome.js';
import { RUUVI_COMPANY_ID, RUUVI_FORMAT_5, decodeRuuvi } from './ruuvi.js';
import type { BleReading } from './types.js';

// The BLE codec's public API: one entry point that picks the decoder from what an advertisement
// carries (as BlueZ's Device1 ServiceData and ManufacturerData give it), the decoders themselves, and
// the helpers the driver needs (repeat filter, Home Assistant metadata).

export { decodeAtc, decodeAtc1441, decodePvvx, ATC_UUID16 } from './atc.js';
export {
  decodeBthome,
  encryptBthome,
  parseBindKey,
  BTHOME_UUID16,
  type BthomeEncryptOptions,
  type BthomeOptions,
} from './bthome.js';
export { decodeRuuvi, RUUVI_COMPANY_ID } from './ruuvi.js';
export { BleDecodeError, type BleErrorCode, parseHexBytes, parseMac } from './errors.js';
export { isDuplicate, packetIdModulo, PacketIdFilter } from './dedupe.js';
export { sensorMetadata } from './metadata.js';
export type * from './types.js';

export interface Advertisement {
  /** Service data by UUID: the full 128-bit form BlueZ uses ("0000fcd2-0000-1000-8000-00805f9b34fb"), or "fcd2" / "0xFCD2". */
  serviceData?: Readonly<Record<string, Uint8Array>>;
  /** Manufacturer data by company id, without the id (as BlueZ gives it). */
  manufacturerData?: Readonly<Record<number, Uint8Array>>;
  /** The advertiser's address: the nonce of encrypted BTHome payloads. */
  mac: string;
  /** The device's BTHome bind key (16 bytes or 32 hex digits), when it encrypts. */
  bindKey?: Uint8Array | string;
}

const BLUETOOTH_BASE_UUID = /^0000([0-9a-f]{4})-0000-1000-8000-00805f9b34fb$/;

/** The 16-bit UUID of a service data key, or undefined for a UUID outside the Bluetooth base range. */
export function uuid16(uuid: string): number | undefined {
  const text = uuid.trim().toLowerCase();
  const short = BLUETOOTH_BASE_UUID.exec(text)?.[1] ?? /^(?:0x)?([0-9a-f]{4})$/.exec(text)?.[1];
  return short === undefined ? undefined : parseInt(short, 16);
}

function serviceData(advertisement: Advertisement, wanted: number): Uint8Array | undefined {
  for (const [uuid, data] of Object.entries(advertisement.serviceData ?? {})) {
    if (uuid16(uuid) === wanted) return data;
  }
  return undefined;
}

/**
 * Decodes the first known format an advertisement carries: BTHome (service data 0xFCD2), then
 * ATC1441/pvvx (service data 0x181A), then Ruuvi format 5 (manufacturer 0x0499, first byte 5).
 * Undefined when it carries none of them (another vendor's device, a Ruuvi in another format); throws
 * BleDecodeError when it carries one and the data is bad (too short, encrypted without a key, …).
 */
export function decodeAdvertisement(advertisement: Advertisement): BleReading | undefined {
  const bthome = serviceData(advertisement, BTHOME_UUID16);
  if (bthome !== undefined) {
    const options = {
      mac: advertisement.mac,
      ...(advertisement.bindKey === undefined ? {} : { bindKey: advertisement.bindKey }),
    };
    return decodeBthome(bthome, options);
  }
  const atc = serviceData(advertisement, ATC_UUID16);
  if (atc !== undefined) return decodeAtc(atc);
  const ruuvi = advertisement.manufacturerData?.[RUUVI_COMPANY_ID];
  if (ruuvi !== undefined && ruuvi[0] === RUUVI_FORMAT_5) return decodeRuuvi(ruuvi);
  return undefined;
}
