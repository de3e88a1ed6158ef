import { z } from 'zod';
import type { DriverSimulationFaults } from '../contract.js';
import type { DeviceConfig } from '../../config/index.js';
import { simulatedDaliCentersOf } from './simulatedGateways.js';

// `<base>/bridge/request/simulation/fault` with `driver: dalicenter`: the faults its users met, injected
// into a simulated gateway inside the gateway process (never a real one: a bus not on the simulated
// transport is refused with the reason). reboot (broker gone, back after duration_ms), move (a new
// address, found again by rediscovery), silence (no answers until `silence` with duration_ms 0: the
// keepalive notices), reset (TCP reset of every connection), kick (the broker drops the client as for a
// duplicate client id), credentials (re-paired elsewhere: the login is refused), garbage (invalid UTF-8
// and an unknown message).

const FAULTS = ['reboot', 'move', 'silence', 'unsilence', 'reset', 'kick', 'credentials', 'garbage'] as const;

const faultFields = {
  fault: z.enum(FAULTS),
  /** reboot: how long the gateway stays down (default 3000 ms). */
  duration_ms: z.number().int().min(0).max(600_000).optional(),
  /** Which gateway (its serial), when more than one simulated gateway runs. */
  serial: z.string().min(1).optional(),
};

// The bridge checked the fields strictly; what it hands on also carries the request's name.
const faultRequest = z.object(faultFields);

function simulatedBusOf(
  devices: ReadonlyMap<string, DeviceConfig>,
  serial: string | undefined,
): { bus: string } | { error: string } {
  const gateways = [...devices.values()].flatMap((device) =>
    device.driver === 'dalicenter' && device.role === 'gateway' && device.enabled ? [device] : [],
  );
  const wanted = serial?.toUpperCase();
  const matching = gateways.filter((gateway) => wanted === undefined || gateway.serial === wanted);
  const [only, ...more] = matching;
  if (!only) return { error: `no DALI Center gateway${wanted ? ` ${wanted}` : ''} runs in this gateway` };
  if (more.length > 0) return { error: `${matching.length} DALI Center gateways: say which ("serial": …)` };
  if (only.transport !== 'simulated')
    return {
      error: `DALI Center gateway ${only.serial ?? only.id} runs the ${only.transport} transport (a real gateway): faults are injected only into simulated ones`,
    };
  return { bus: only.bus };
}

export const daliCenterSimulationFaults: DriverSimulationFaults = {
  fields: faultFields,
  inject(fields, context) {
    const request = faultRequest.parse(fields);
    const chosen = simulatedBusOf(context.devices, request.serial);
    if ('error' in chosen) return chosen;
    const gateway = simulatedDaliCentersOf(context.openContext).get(chosen.bus);
    if (!gateway) return { error: `the simulated gateway of ${chosen.bus} is not running yet` };
    switch (request.fault) {
      case 'reboot':
        void gateway.reboot(request.duration_ms ?? 3_000);
        break;
      case 'move':
        void gateway.changeAddress({ port: 0 });
        break;
      case 'silence':
        gateway.silence(true);
        break;
      case 'unsilence':
        gateway.silence(false);
        break;
      case 'reset':
        return {
          data: { fault: request.fault, serial: gateway.serial, connections: gateway.resetConnections() },
        };
      case 'kick':
        for (const clientId of gateway.clientIds()) gateway.kickClient(clientId);
        break;
      case 'credentials':
        gateway.changeCredentials({
          username: gateway.pairingCredentials.username,
          password: `changed-${Date.now()}`,
        });
        break;
      case 'garbage':
        void gateway.injectInvalidUtf8();
        void gateway.injectUnknownMessage();
        break;
    }
    return { data: { fault: request.fault, serial: gateway.serial } };
  },
};
