import { z } from 'zod';
import type { DriverSimulationFaults } from '../contract.js';
import { simulatedDaliAdaptersOf } from './simulatedAdapters.js';
import type { FakeHidEnumerator } from './simulator/index.js';
import type { DeviceConfig } from '../../config/index.js';
import { errorText } from '../../errorText.js';

// `<base>/bridge/request/simulation/fault`: faults for the simulated hasseb adapter that lives inside the
// gateway process (`dali: [{ transport: simulated }]`). The chaos soak (scripts/soak) and demos run the
// gateway as a separate process, so pulling the fake stick or cutting its lamps' mains has to come in
// over MQTT. Only simulated buses take it: a real adapter is refused with the reason, so the request can
// never touch hardware.

export const SIMULATION_FAULTS = ['unplug', 'replug', 'power_cut'] as const;
export type SimulationFault = (typeof SIMULATION_FAULTS)[number];

/** The longest mains outage a power_cut may ask for (the lamps come back on their own after it). */
export const MAX_POWER_CUT_MS = 600_000;

export interface SimulationFaultRequest {
  driver: 'dali';
  fault: SimulationFault;
  /** power_cut: one lamp (short address); without it every lamp on the bus. */
  address?: number | undefined;
  /** power_cut: how long the mains stay off; 0 (default) is a blip: off and straight back on. */
  duration_ms?: number | undefined;
  /** Which bus, when more than one simulated DALI bus runs. */
  bus?: string | undefined;
}

export type FaultOutcome = { data: Record<string, unknown> } | { error: string };

/** The DALI buses of the gateway by transport, from the devices that run on them. */
function daliBuses(devices: ReadonlyMap<string, DeviceConfig>): Map<string, string> {
  const buses = new Map<string, string>();
  for (const device of devices.values()) {
    if (device.driver === 'dali' && device.enabled) buses.set(device.bus, device.transport);
  }
  return buses;
}

function chooseBus(
  request: SimulationFaultRequest,
  devices: ReadonlyMap<string, DeviceConfig>,
): { bus: string } | { error: string } {
  const buses = daliBuses(devices);
  if (request.bus !== undefined) {
    const transport = buses.get(request.bus);
    if (transport === undefined) {
      const known = [...buses.keys()].join(', ') || 'none';
      return { error: `bus "${request.bus}" is not a DALI bus of this gateway (known: ${known})` };
    }
    if (transport !== 'simulated') return { error: realAdapter(request.bus, transport) };
    return { bus: request.bus };
  }
  const simulated = [...buses].filter(([, transport]) => transport === 'simulated').map(([bus]) => bus);
  const [only, ...more] = simulated;
  if (only !== undefined && more.length === 0) return { bus: only };
  if (only !== undefined) return { error: `${simulated.length} simulated DALI buses: say which ("bus": …)` };
  const [real] = [...buses];
  if (real) return { error: realAdapter(real[0], real[1]) };
  return {
    error:
      'no DALI bus of this gateway runs the simulated transport (add dali: [{ transport: simulated }]; ' +
      'its lamps must have been found before faults can be injected)',
  };
}

function realAdapter(bus: string, transport: string): string {
  return (
    `DALI bus ${bus} runs the ${transport} transport (a real adapter): faults are injected only into ` +
    'simulated adapters (transport: simulated)'
  );
}

/**
 * Applies one fault to the simulated adapter of a DALI bus. `adapters` are the gateway's simulated
 * adapters by bus (simulatedDaliAdaptersOf its OpenContext).
 */
export function injectSimulationFault(
  request: SimulationFaultRequest,
  devices: ReadonlyMap<string, DeviceConfig>,
  adapters: ReadonlyMap<string, FakeHidEnumerator>,
): FaultOutcome {
  if (request.fault !== 'power_cut' && (request.address !== undefined || request.duration_ms !== undefined)) {
    return { error: `address and duration_ms belong to power_cut, not to ${request.fault}` };
  }
  const chosen = chooseBus(request, devices);
  if ('error' in chosen) return chosen;
  const enumerator = adapters.get(chosen.bus);
  if (!enumerator) return { error: `the simulated adapter of bus ${chosen.bus} has not been opened yet` };
  try {
    const stick = enumerator.stick();
    const done = { driver: 'dali', bus: chosen.bus, fault: request.fault, adapter: stick.serialNumber };
    switch (request.fault) {
      case 'unplug':
        enumerator.unplug();
        return { data: done };
      case 'replug':
        return { data: { ...done, path: enumerator.replug().path } };
      case 'power_cut': {
        const target = request.address ?? 'all';
        const durationMs = request.duration_ms ?? 0;
        stick.bus.cutPower(target);
        if (durationMs === 0) stick.bus.restorePower(target);
        // unref: a pending restore must not keep a stopping gateway alive.
        else setTimeout(() => stick.bus.restorePower(target), durationMs).unref();
        return { data: { ...done, address: request.address ?? 'all', duration_ms: durationMs } };
      }
    }
  } catch (error) {
    // Already unplugged, not unplugged, no lamp at that address: the simulator's own words.
    return { error: errorText(error) };
  }
}

/** `simulation/fault` with `driver: dali`: the fields, checked before anything is injected. */
const faultFields = {
  fault: z.enum(SIMULATION_FAULTS),
  address: z.number().int().min(0).max(63).optional(),
  duration_ms: z.number().int().min(0).max(MAX_POWER_CUT_MS).optional(),
  bus: z.string().min(1).optional(),
};
const faultRequest = z.object(faultFields);

export const daliSimulationFaults: DriverSimulationFaults = {
  fields: faultFields,
  inject: (fields, { devices, openContext }) =>
    injectSimulationFault(
      { driver: 'dali', ...faultRequest.parse(fields) },
      devices,
      simulatedDaliAdaptersOf(openContext),
    ),
};
