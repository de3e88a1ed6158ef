import type { DeviceConfig, DriverName } from '../config/index.js';
import type { GatewayClock } from '../machines/clock.js';
import type { BusRuntime, DriverDefinition } from './driver.js';
import { SimulatedBusRuntime } from './simulated/runtime.js';

// The driver catalogue: each driver's recovery ladder and the transports it can open a bus with.
// Every driver offers `simulated` (the fault-injecting SimulatedBusRuntime) so the whole gateway runs
// without hardware; the hardware transports register here as each driver lands.

type BusOpener = (busId: string, devices: readonly DeviceConfig[], clock: GatewayClock) => BusRuntime;

export interface DriverEntry {
  definition: DriverDefinition;
  transports: Partial<Record<string, BusOpener>>;
}

function openSimulatedBus(busId: string, devices: readonly DeviceConfig[], clock: GatewayClock): BusRuntime {
  const runtime = new SimulatedBusRuntime(busId, clock, hashSeed(busId));
  for (const device of devices) {
    const simulation = device.simulation;
    runtime.addDevice(
      device.id,
      simulation && {
        connectDelayMs: simulation.connect_delay_ms,
        operationDelayMs: simulation.operation_delay_ms,
        failureRate: simulation.failure_rate,
        hangRate: simulation.hang_rate,
        disconnectEveryMs: simulation.disconnect_every_ms,
      },
    );
  }
  return runtime;
}

/** A stable seed per bus, so a simulated bus injects the same faults on every run. */
function hashSeed(text: string): number {
  let hash = 2_166_136_261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16_777_619);
  return hash >>> 0;
}

const SERIAL_LADDER = [{ name: 'reopen' }, { name: 'reenumerate' }, { name: 'restart_actor' }];

export const DRIVERS: Record<DriverName, DriverEntry> = {
  mbus: {
    definition: { name: 'mbus', recoverySteps: SERIAL_LADDER },
    transports: { simulated: openSimulatedBus },
  },
  dali: {
    definition: { name: 'dali', recoverySteps: SERIAL_LADDER },
    transports: { simulated: openSimulatedBus },
  },
  ble: {
    definition: {
      name: 'ble',
      recoverySteps: [
        { name: 'stop_discovery' },
        { name: 'power_cycle_adapter', maxPerHour: 10 },
        { name: 'restart_actor' },
      ],
    },
    transports: { simulated: openSimulatedBus },
  },
  simulated: {
    definition: { name: 'simulated', recoverySteps: [{ name: 'reopen' }, { name: 'restart_actor' }] },
    transports: { simulated: openSimulatedBus },
  },
};

/** Why a device cannot run in this build, or undefined when its driver and transport are available. */
export function unavailableTransport(device: DeviceConfig): string | undefined {
  const entry = DRIVERS[device.driver];
  if (entry.transports[device.transport]) return undefined;
  const available = Object.keys(entry.transports).join(', ');
  return `transport "${device.transport}" of driver ${device.driver} is not available in this version of fieldbridge (available: ${available})`;
}
