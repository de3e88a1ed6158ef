import type { DeviceConfig } from '../../config/index.js';
import type { OpenContext } from '../contract.js';
import { type DaliDevice, daliDevices, openOn } from './openBus.js';
import type { DaliBusRuntime } from './runtime.js';
import { simulatedDaliAdaptersOf } from './simulatedAdapters.js';
import { DaliBus, defaultGear, FakeHidEnumerator, type GearSpec } from './simulator/index.js';

// `transport: simulated`: the hid transport's runtime on a fake hasseb adapter whose virtual DALI bus
// has a lamp at every short address configured on that bus (in every group configured on it), so the
// demo and the end-to-end tests run the real report protocol without USB hardware. Loaded only when a
// config has a simulated DALI line.

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
  context: OpenContext,
): DaliBusRuntime {
  const dali = daliDevices(devices);
  const adapters = simulatedDaliAdaptersOf(context);
  let enumerator = adapters.get(busId);
  if (!enumerator) {
    enumerator = new FakeHidEnumerator();
    const simulation = dali[0]?.simulation;
    enumerator.plug({
      bus: new DaliBus({ gear: simulatedGear(dali) }),
      serialNumber: dali[0]?.adapter_serial,
      faults: simulation ? { noAnswer: simulation.failure_rate, silent: simulation.hang_rate } : {},
    });
    adapters.set(busId, enumerator);
  }
  return openOn(busId, enumerator, dali, context);
}
