import type { DeviceConfig } from '../../config/index.js';
import { getLogger } from '../../logging/index.js';
import type { OpenContext } from '../contract.js';
import type { GatewayEndpoint } from './link.js';
import { DaliCenterBusRuntime } from './runtime.js';
import { simulatedDaliCentersOf } from './simulatedGateways.js';
import { DEFAULT_SIMULATED_SERIAL, SimulatedDaliCenter } from './simulator/index.js';
import type { DaliCenterDevice } from './config.js';
import { daliCenterDevices, specsOf } from './targets.js';

// `transport: simulated`: the mqtt transport's runtime against an in-process simulated gateway (its
// own broker with a login, a virtual DALI line with a light of each type, sensors and panels), so the
// demo and the end-to-end tests run the real protocol without the hardware. The gateway is kept across
// restarts of its bus (its lights keep their state, as a real one) and stopped with the gateway.

/**
 * Where the simulated gateway is now, and the login: the gateway device's `username`/`password` when
 * the config gives them (configured by hand, as for a real gateway: a wrong one is refused), else what
 * the simulated gateway revealed when it was set up (as if paired with it).
 */
function endpointOf(gateway: SimulatedDaliCenter, configured: DaliCenterDevice | undefined): GatewayEndpoint {
  const announced = gateway.announcement();
  const url = new URL(gateway.mqttUrl);
  return {
    serial: gateway.serial,
    host: announced?.address ?? url.hostname,
    port: announced?.port ?? gateway.mqttPort,
    tls: false,
    username: configured?.username ?? gateway.pairingCredentials.username,
    password: configured?.password ?? gateway.pairingCredentials.password,
  };
}

export function openSimulatedDaliCenterBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context: OpenContext,
): DaliCenterBusRuntime {
  const own = daliCenterDevices(devices);
  const serial = own[0]?.serial ?? DEFAULT_SIMULATED_SERIAL;
  const configured = own.find((device) => device.role === 'gateway');
  const simulatedGateways = simulatedDaliCentersOf(context);
  let gateway = simulatedGateways.get(busId);
  let started: Promise<void> = Promise.resolve();
  if (!gateway) {
    const created = new SimulatedDaliCenter({ serial, discovery: false });
    gateway = created;
    simulatedGateways.set(busId, created);
    started = created.start();
  }
  const simulated = gateway;
  return new DaliCenterBusRuntime(busId, {
    serial,
    endpoint: async () => {
      await started;
      return endpointOf(simulated, configured);
    },
    devices: specsOf(own),
    clock: context.clock,
    log: getLogger(`dalicenter:${serial}`),
    // The simulated network: the gateway says where it is now (after a simulated address change).
    rediscover: async () => (simulated.isDown ? undefined : endpointOf(simulated, configured)),
  });
}
