import type { DeviceConfig } from '../../config/index.js';
import { getLogger } from '../../logging/index.js';
import type { GatewayClock } from '../../machines/clock.js';
import type { HidEnumerator } from './hidTransport.js';
import type { LightTarget } from './lamps.js';
import { nodeHidEnumerator } from './nodeHid.js';
import { DaliBusRuntime } from './runtime.js';
import { DaliBus, defaultGear, FakeHidEnumerator, type GearSpec } from './simulator/index.js';

// The driver catalogue's openers: `transport: hid` opens a real hasseb adapter through node-hid;
// `transport: simulated` puts the same runtime on a fake hasseb adapter whose virtual DALI bus has a
// lamp at every short address configured on that bus (in every group configured on it), so the demo
// and the end-to-end tests run the real report protocol without USB hardware.

export function lightTarget(device: {
  address?: number | undefined;
  group?: number | undefined;
}): LightTarget {
  if (device.address !== undefined) return { short: device.address };
  return device.group !== undefined ? { group: device.group } : { broadcast: true };
}

type DaliDevice = Extract<DeviceConfig, { driver: 'dali' }>;

function daliDevices(devices: readonly DeviceConfig[]): DaliDevice[] {
  return devices.flatMap((device) => (device.driver === 'dali' ? [device] : []));
}

function openOn(
  busId: string,
  enumerator: HidEnumerator,
  devices: readonly DaliDevice[],
  clock: GatewayClock | undefined,
): DaliBusRuntime {
  const logger = getLogger(`dali:${busId}`);
  return new DaliBusRuntime(busId, {
    enumerator,
    adapterSerial: devices[0]?.adapter_serial,
    lights: devices.map((device) => ({
      deviceId: device.id,
      target: device.role === 'adapter' ? ('adapter' as const) : lightTarget(device),
    })),
    log: (message) => logger.info(message),
    clock,
  });
}

export function openDaliBus(
  busId: string,
  devices: readonly DeviceConfig[],
  clock?: GatewayClock,
): DaliBusRuntime {
  return openOn(busId, nodeHidEnumerator, daliDevices(devices), clock);
}

/**
 * The simulated adapters of this process, one per bus, kept across bus restarts (lamps keep their
 * levels when the gateway's actors restart, as real lamps do). Tests reach them to pull the plug or cut
 * a lamp's power.
 */
export const simulatedDaliAdapters = new Map<string, FakeHidEnumerator>();

/** The lamps of a simulated bus: one per configured short address, each in every configured group. */
export function simulatedGear(all: readonly DaliDevice[]): GearSpec[] {
  const devices = all.filter((device) => device.role !== 'adapter');
  const groups = [
    ...new Set(devices.flatMap((device) => (device.group === undefined ? [] : [device.group]))),
  ];
  const addresses = [
    ...new Set(devices.flatMap((device) => (device.address === undefined ? [] : [device.address]))),
  ];
  // Nothing configured yet (a scan will find them): four lamps, two in group 0 and two in group 1.
  if (addresses.length === 0) return defaultGear(4);
  return addresses.map((shortAddress) => ({ shortAddress, groups, level: 0 }));
}

export function openSimulatedDaliBus(
  busId: string,
  devices: readonly DeviceConfig[],
  clock?: GatewayClock,
): DaliBusRuntime {
  const dali = daliDevices(devices);
  let enumerator = simulatedDaliAdapters.get(busId);
  if (!enumerator) {
    enumerator = new FakeHidEnumerator();
    const simulation = dali[0]?.simulation;
    enumerator.plug({
      bus: new DaliBus({ gear: simulatedGear(dali) }),
      serialNumber: dali[0]?.adapter_serial,
      faults: simulation ? { noAnswer: simulation.failure_rate, silent: simulation.hang_rate } : {},
    });
    simulatedDaliAdapters.set(busId, enumerator);
  }
  return openOn(busId, enumerator, dali, clock);
}
