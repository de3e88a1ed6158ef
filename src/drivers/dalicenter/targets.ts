import type { DeviceConfig } from '../../config/index.js';
import type { LightCapability } from '../shared/capabilities.js';
import { daliCenterLight } from './capabilities.js';
import type { DeviceAddress } from './codec/index.js';
import type { DaliCenterDevice } from './config.js';
import type { GatewayEndpoint } from './link.js';

// The devices of one gateway's bus as the runtime addresses them: the gateway itself, a device at its
// vendor address (devType, channel, short address), a group or a scene.

export type DaliCenterTarget =
  | { role: 'gateway' }
  | { role: 'light'; address: DeviceAddress; light: LightCapability }
  | { role: 'motion' | 'illuminance' | 'panel'; address: DeviceAddress }
  | { role: 'group'; channel: number; groupId: number }
  | { role: 'scene'; channel: number; sceneId: number };

export interface DaliCenterDeviceSpec {
  deviceId: string;
  target: DaliCenterTarget;
}

export function daliCenterDevices(devices: readonly DeviceConfig[]): DaliCenterDevice[] {
  return devices.flatMap((device) => (device.driver === 'dalicenter' ? [device] : []));
}

export function targetOf(device: DaliCenterDevice): DaliCenterTarget {
  const channel = device.channel ?? 0;
  switch (device.role) {
    case 'gateway':
      return { role: 'gateway' };
    case 'group':
      return { role: 'group', channel, groupId: device.group_id ?? 0 };
    case 'scene':
      return { role: 'scene', channel, sceneId: device.scene_id ?? 0 };
    case 'light':
      return {
        role: 'light',
        address: { devType: device.dev_type ?? '0101', channel, address: device.address ?? 0 },
        light: daliCenterLight(device),
      };
    default:
      return {
        role: device.role,
        address: { devType: device.dev_type ?? 'FFFF', channel, address: device.address ?? 0 },
      };
  }
}

export function specsOf(devices: readonly DaliCenterDevice[]): DaliCenterDeviceSpec[] {
  return devices.map((device) => ({ deviceId: device.id, target: targetOf(device) }));
}

/** The endpoint of a bus's gateway device (host, port, credentials); undefined without one. */
export function endpointOf(devices: readonly DaliCenterDevice[]): GatewayEndpoint | undefined {
  const gateway = devices.find((device) => device.role === 'gateway');
  if (!gateway?.host) return undefined;
  return {
    serial: gateway.serial ?? '',
    host: gateway.host,
    port: gateway.port ?? 1883,
    username: gateway.username,
    password: gateway.password,
    tls: gateway.tls ?? false,
    caFile: gateway.ca_file,
  };
}
