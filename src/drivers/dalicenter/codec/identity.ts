import { badArgument } from './errors.js';

// Identity as the vendor defines it (notes §9, SDK helper.py): a device is devType + channel (4 digits)
// + short address (2 digits) + gateway serial, e.g. 01010000026A242121110E. It includes devType, so a
// device re-addressed or replaced by another type is a new device; the gateway's own devId (searchDevRes)
// has the same format where seen. Groups and scenes: group_GGGG_CCCC_<sn>, scene_SSSS_CCCC_<sn>.

/** Where a device sits on a gateway: its type code, DALI line (channel) and short address. */
export interface DeviceAddress {
  devType: string;
  channel: number;
  address: number;
}

function digits(value: number, width: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value >= 10 ** width)
    badArgument(`${what} ${value} does not fit ${width} digits`);
  return String(value).padStart(width, '0');
}

export function deviceUniqueId(device: DeviceAddress, gatewaySerial: string): string {
  return `${device.devType}${digits(device.channel, 4, 'channel')}${digits(device.address, 2, 'address')}${gatewaySerial}`;
}

export function groupUniqueId(groupId: number, channel: number, gatewaySerial: string): string {
  return `group_${digits(groupId, 4, 'groupId')}_${digits(channel, 4, 'channel')}_${gatewaySerial}`;
}

export function sceneUniqueId(sceneId: number, channel: number, gatewaySerial: string): string {
  return `scene_${digits(sceneId, 4, 'sceneId')}_${digits(channel, 4, 'channel')}_${gatewaySerial}`;
}

/** The key of a device within one gateway (devType_channel_address, as the SDK batches by). */
export function deviceKey(device: DeviceAddress): string {
  return `${device.devType}_${device.channel}_${device.address}`;
}

/**
 * Reads a device unique id of `gatewaySerial` back; undefined when it is not one. The serial is needed:
 * without it the id is ambiguous (a 6-character motion devType or a serial starting with digits).
 */
export function parseDeviceUniqueId(id: string, gatewaySerial: string): DeviceAddress | undefined {
  if (!id.endsWith(gatewaySerial)) return undefined;
  const match = /^([0-9A-Fa-f]{4}|[0-9A-Fa-f]{6})(\d{4})(\d{2})$/.exec(
    id.slice(0, id.length - gatewaySerial.length),
  );
  if (!match) return undefined;
  const [, devType, channel, address] = match as unknown as [string, string, string, string];
  return { devType, channel: Number(channel), address: Number(address) };
}

/**
 * The MAC address a serial stands for (notes §2.3: gwSn is the MAC, "6A242121110E" is 6a:24:21:21:11:0e),
 * which lets a DHCP lease or ARP entry find a gateway whose IP changed; undefined when it is not 12 hex digits.
 */
export function serialToMac(serial: string): string | undefined {
  if (!/^[0-9A-Fa-f]{12}$/.test(serial)) return undefined;
  return serial.toLowerCase().replace(/(..)(?!$)/g, '$1:');
}
