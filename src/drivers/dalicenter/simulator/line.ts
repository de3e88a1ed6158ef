import {
  classifyDeviceType,
  type DeviceAddress,
  deviceKey,
  deviceUniqueId,
  DPID,
  type Hsv,
} from '../codec/index.js';

// The simulated gateway's virtual DALI line: its devices (lights of every type, motion and illuminance
// sensors, button panels), the groups and scenes the gateway stores, and each light's state. Only what
// the protocol can observe is modelled; timing and the wire are the gateway's (gateway.ts).

export interface SimLightState {
  on: boolean;
  /** 0-1000, the gateway's scale. */
  brightness: number;
  kelvin: number;
  hsv: Hsv;
  white: number;
}

export interface SimDevice extends DeviceAddress {
  name: string;
  online: boolean;
  /** Lights only. */
  light?: SimLightState;
  /** Sensors: enabled by setSensorOnOff; arguments by setSensorArgv. */
  sensorEnabled: boolean;
  sensorArguments: Record<string, unknown>;
  /** setDevParam's `paramer`, as last set (lights start with their fade and cct limits). */
  parameters: Record<string, unknown>;
  /** Energy counter reported by reportEnergy, Wh. */
  energyWh: number;
}

export interface SimGroup {
  channel: number;
  groupId: number;
  name: string;
  areaId: string;
  /** deviceKey of each member. */
  members: string[];
}

export interface SimSceneMember {
  /** A device key, or a group id when `group` is true (devType 0401). */
  key: string;
  group: boolean;
  properties: { dpid: number; value: boolean | number | string }[];
}

export interface SimScene {
  channel: number;
  sceneId: number;
  name: string;
  areaId: string;
  members: SimSceneMember[];
}

/** A device of the line as configured: type, address and (for lights) a starting state. */
export interface SimDeviceSpec extends DeviceAddress {
  name?: string;
  online?: boolean;
  light?: Partial<SimLightState>;
}

export interface LineSpec {
  devices: SimDeviceSpec[];
  groups: { channel: number; groupId: number; name: string; members: DeviceAddress[] }[];
  scenes: {
    channel: number;
    sceneId: number;
    name: string;
    members: { device?: DeviceAddress; groupId?: number; properties: SimSceneMember['properties'] }[];
  }[];
}

/** One light of each type, two motion sensors, an illuminance sensor and every panel, on channel 0. */
export function defaultLineSpec(): LineSpec {
  const device = (devType: string, address: number, name?: string): SimDeviceSpec => ({
    devType,
    channel: 0,
    address,
    ...(name ? { name } : {}),
  });
  return {
    devices: [
      device('0101', 0, 'Dimmer'),
      device('0102', 1, 'Tunable white'),
      device('0103', 2, 'RGB'),
      device('0104', 3, 'XY'),
      device('0105', 4, 'RGBW'),
      device('0106', 5, 'RGBWA'),
      device('0201', 10, 'Motion'),
      device('020105', 11, 'Motion (5)'),
      device('0202', 12, 'Illuminance'),
      device('0300', 20, 'Knob'),
      device('0302', 21, '2-key panel'),
      device('0304', 22, '4-key panel'),
      device('0306', 23, '6-key panel'),
      device('0308', 24, '8-key panel'),
    ],
    groups: [
      {
        channel: 0,
        groupId: 0,
        name: 'Office',
        members: [
          { devType: '0101', channel: 0, address: 0 },
          { devType: '0102', channel: 0, address: 1 },
        ],
      },
      {
        channel: 0,
        groupId: 1,
        name: 'Colour',
        members: [2, 3, 4, 5].map((address) => ({ devType: `010${address + 1}`, channel: 0, address })),
      },
    ],
    scenes: [
      {
        channel: 0,
        sceneId: 0,
        name: 'Evening',
        members: [
          {
            device: { devType: '0101', channel: 0, address: 0 },
            properties: [
              { dpid: DPID.power, value: true },
              { dpid: DPID.brightness, value: 300 },
            ],
          },
          { groupId: 1, properties: [{ dpid: DPID.power, value: true }] },
        ],
      },
      {
        channel: 0,
        sceneId: 1,
        name: 'Off',
        members: [{ groupId: 0, properties: [{ dpid: DPID.power, value: false }] }],
      },
    ],
  };
}

const DEFAULT_LIGHT: SimLightState = {
  on: false,
  brightness: 0,
  kelvin: 4000,
  hsv: { hue: 0, saturation: 0, value: 1000 },
  white: 0,
};

export class VirtualLine {
  readonly devices = new Map<string, SimDevice>();
  readonly groups: SimGroup[] = [];
  readonly scenes: SimScene[] = [];

  constructor(spec: LineSpec = defaultLineSpec()) {
    for (const entry of spec.devices) this.addDevice(entry);
    for (const group of spec.groups)
      this.groups.push({ ...group, areaId: '0001', members: group.members.map(deviceKey) });
    for (const scene of spec.scenes) {
      this.scenes.push({
        channel: scene.channel,
        sceneId: scene.sceneId,
        name: scene.name,
        areaId: '0001',
        members: scene.members.map((member) =>
          member.device
            ? { key: deviceKey(member.device), group: false, properties: member.properties }
            : { key: String(member.groupId ?? 0), group: true, properties: member.properties },
        ),
      });
    }
  }

  addDevice(entry: SimDeviceSpec): SimDevice {
    const deviceClass = classifyDeviceType(entry.devType);
    const isLight = deviceClass.kind === 'light';
    const device: SimDevice = {
      devType: deviceClass.devType,
      channel: entry.channel,
      address: entry.address,
      name: entry.name ?? `${deviceClass.model} ${entry.channel}-${entry.address}`,
      online: entry.online ?? true,
      ...(isLight ? { light: { ...DEFAULT_LIGHT, ...entry.light } } : {}),
      sensorEnabled: true,
      sensorArguments:
        deviceClass.kind === 'motion'
          ? { enable: true, occpyTime: 30, reportTime: 10, downTime: 5, coverage: 80, sensitivity: 50 }
          : {},
      parameters: isLight
        ? {
            fadeTime: 0,
            fadeRate: 7,
            minBrightness: 1,
            maxBrightness: 1000,
            powerStatus: 254,
            systemFailureStatus: 254,
            ...(deviceClass.colourMode === 'color_temp' ? { cctWarm: 2700, cctCool: 6500 } : {}),
          }
        : {},
      energyWh: 0,
    };
    this.devices.set(deviceKey(device), device);
    return device;
  }

  find(address: DeviceAddress): SimDevice | undefined {
    return this.devices.get(deviceKey({ ...address, devType: address.devType.toUpperCase() }));
  }

  /** The device on (channel, address) whatever type the request names (the gateway addresses by both). */
  at(channel: number, address: number): SimDevice | undefined {
    for (const device of this.devices.values())
      if (device.channel === channel && device.address === address) return device;
    return undefined;
  }

  lights(): SimDevice[] {
    return [...this.devices.values()].filter((device) => device.light !== undefined);
  }

  group(channel: number, groupId: number): SimGroup | undefined {
    return this.groups.find((group) => group.channel === channel && group.groupId === groupId);
  }

  scene(channel: number, sceneId: number): SimScene | undefined {
    return this.scenes.find((scene) => scene.channel === channel && scene.sceneId === sceneId);
  }

  groupMembers(group: SimGroup): SimDevice[] {
    return group.members.flatMap((key) => this.devices.get(key) ?? []);
  }

  /** The lights a scene member stands for: itself, or its group's members (none if gone). */
  sceneMemberDevices(scene: SimScene, member: SimSceneMember): SimDevice[] {
    if (!member.group) return [this.devices.get(member.key)].flatMap((device) => device ?? []);
    const group = this.group(scene.channel, Number(member.key));
    return group ? this.groupMembers(group) : [];
  }

  /**
   * Applies light properties; false when one is not a value the light takes (the gateway's ack:false).
   * A non-zero brightness switches the light on and 0 switches it off, as a DALI arc level does; power
   * on at level 0 goes to full (what the gateway does there is not in the notes). Off keeps the level.
   */
  applyLight(device: SimDevice, properties: { dpid: number; value: unknown }[]): boolean {
    const light = device.light;
    if (!light) return false;
    const next = { ...light, hsv: { ...light.hsv } };
    for (const { dpid, value } of properties) {
      if (dpid === DPID.power && typeof value === 'boolean') {
        next.on = value;
        if (value && next.brightness === 0) next.brightness = 1000;
      } else if (dpid === DPID.brightness && typeof value === 'number' && value >= 0 && value <= 1000) {
        next.brightness = Math.round(value);
        next.on = next.brightness > 0;
      } else if (
        dpid === DPID.colourTemperature &&
        typeof value === 'number' &&
        value >= 1000 &&
        value <= 10_000
      )
        next.kelvin = Math.round(value);
      else if (dpid === DPID.hsv && typeof value === 'string' && /^[0-9a-fA-F]{12}$/.test(value))
        next.hsv = {
          hue: parseInt(value.slice(0, 4), 16),
          saturation: parseInt(value.slice(4, 8), 16),
          value: parseInt(value.slice(8), 16),
        };
      else if (
        dpid === DPID.white &&
        typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= 0 &&
        value <= 255
      )
        next.white = value;
      else return false;
    }
    device.light = next;
    return true;
  }

  /** A light's state as devStatus properties: power, brightness and what its colour mode has. */
  lightStatus(device: SimDevice): { dpid: number; value: boolean | number | string }[] {
    const light = device.light;
    if (!light) return [];
    const properties: { dpid: number; value: boolean | number | string }[] = [
      { dpid: DPID.power, value: light.on },
      { dpid: DPID.brightness, value: light.brightness },
    ];
    const deviceClass = classifyDeviceType(device.devType);
    if (deviceClass.kind !== 'light') return properties;
    if (deviceClass.colourMode === 'color_temp')
      properties.push({ dpid: DPID.colourTemperature, value: light.kelvin });
    const hex = (value: number) => value.toString(16).padStart(4, '0');
    if (deviceClass.colourMode === 'hs' || deviceClass.colourMode === 'rgbw')
      properties.push({
        dpid: DPID.hsv,
        value: hex(light.hsv.hue) + hex(light.hsv.saturation) + hex(light.hsv.value),
      });
    if (deviceClass.whiteChannel) properties.push({ dpid: DPID.white, value: light.white });
    return properties;
  }

  uniqueId(device: SimDevice, serial: string): string {
    return deviceUniqueId(device, serial);
  }
}
