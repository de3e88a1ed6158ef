// The DALI simulator's public API: a virtual bus of control gear, a fake hasseb DALI Master on it behind
// the HidTransport seam, a fake HID enumerator with unplug/replug, seeded faults and an event log.

export { type AdapterState, FakeHassebAdapter, type FakeHassebOptions } from './adapter.js';
export {
  DaliBus,
  type DaliBusOptions,
  type DaliBusResult,
  defaultGear,
  SEND_TWICE_WINDOW_MS,
} from './bus.js';
export { FakeHassebStick, FakeHidEnumerator, type FakeStickOptions } from './enumerator.js';
export { EventLog, type LoggedEvent, type SimEvent } from './events.js';
export {
  FaultInjector,
  HASSEB_FAULT_KINDS,
  type HassebFaultKind,
  type HassebFaults,
  mergeHassebFaults,
  NO_HASSEB_FAULTS,
} from './faults.js';
export { describeGear, type GearSpec, type GearState, gearStatus, isResetState } from './gear.js';
