import {
  type DeviceAddress,
  DPID,
  type JsonObject,
  type MotionState,
  type PanelEventName,
} from '../codec/index.js';
import type { SimDevice, SimLightState, VirtualLine } from './line.js';

// What a gateway reports unasked (notes §6, §7): a panel key pressed, motion, illuminance, a device going
// offline, an energy reading, a light changed at the wall. A test or the CLI calls these; each publishes
// the notes' shape on the report topic.

const PANEL_EVENT_CODES: Readonly<Record<PanelEventName, number>> = {
  press: 1,
  hold: 2,
  double_press: 3,
  rotate: 4,
  release: 5,
};
const MOTION_CODES: Readonly<Record<MotionState, number>> = {
  no_motion: 1,
  motion: 2,
  vacant: 3,
  occupancy: 4,
  presence: 5,
};

/** A device by its short address on channel 0, or by its full address. */
export type DeviceSelector = number | DeviceAddress;

export class GatewayPushes {
  constructor(
    private readonly line: VirtualLine,
    private readonly serial: string,
    private readonly send: (body: JsonObject) => void,
  ) {}

  private device(selector: DeviceSelector): SimDevice {
    const found = typeof selector === 'number' ? this.line.at(0, selector) : this.line.find(selector);
    if (!found) throw new Error(`the simulated line has no device ${JSON.stringify(selector)}`);
    return found;
  }

  private status(device: SimDevice, property: JsonObject[]): void {
    this.send({
      cmd: 'devStatus',
      gwSn: this.serial,
      data: { devType: device.devType, channel: device.channel, address: device.address, property },
    });
  }

  /** A panel event: dpid = event code, keyNo = the button, value = rotation for rotate. */
  panelKey(selector: DeviceSelector, keyNo: number, event: PanelEventName, rotation = 0): void {
    this.status(this.device(selector), [
      { dpid: PANEL_EVENT_CODES[event], keyNo, value: event === 'rotate' ? rotation : 0 },
    ]);
  }

  /** A motion sensor's state: the dpid is the state. */
  motion(selector: DeviceSelector, state: MotionState): void {
    this.status(this.device(selector), [{ dpid: MOTION_CODES[state], value: true }]);
  }

  /** An illuminance reading (dpid 4); any number, so invalid readings can be sent too. */
  illuminance(selector: DeviceSelector, lux: number | string): void {
    this.status(this.device(selector), [{ dpid: DPID.illuminance, value: lux }]);
  }

  /** onlineStatus for one device (its data is an array). */
  online(selector: DeviceSelector, online: boolean): void {
    const device = this.device(selector);
    device.online = online;
    this.send({
      cmd: 'onlineStatus',
      gwSn: this.serial,
      data: [{ devType: device.devType, channel: device.channel, address: device.address, status: online }],
    });
  }

  /** reportEnergy: `addWh` is added to the device's counter, which is reported as a string (as seen). */
  energy(selector: DeviceSelector, addWh: number): void {
    const device = this.device(selector);
    device.energyWh += addWh;
    this.send({
      cmd: 'reportEnergy',
      gwSn: this.serial,
      data: {
        devType: device.devType,
        channel: device.channel,
        address: device.address,
        property: [{ dpid: DPID.energy, value: device.energyWh.toFixed(2) }],
      },
    });
  }

  /** A light changed outside fieldbridge (a wall panel, another app): its state, then a devStatus. */
  lightChanged(selector: DeviceSelector, change: Partial<SimLightState>): void {
    const device = this.device(selector);
    if (!device.light) throw new Error(`device ${device.devType} at ${device.address} is not a light`);
    device.light = { ...device.light, ...change };
    this.status(device, this.line.lightStatus(device));
  }
}
