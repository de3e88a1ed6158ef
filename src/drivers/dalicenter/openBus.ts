import type { DeviceConfig } from '../../config/index.js';
import { getLogger } from '../../logging/index.js';
import type { OpenContext } from '../contract.js';
import { discoverGateways } from './discoveryClient.js';
import type { GatewayEndpoint } from './link.js';
import { DaliCenterBusRuntime } from './runtime.js';
import { daliCenterDevices, endpointOf, specsOf } from './targets.js';

// `transport: mqtt`: a real gateway's broker, at the address its gateway device names (configured by
// hand or stored by pairing). The `rediscover` step asks the network for that serial's new address.

/** How long the `rediscover` step listens for the gateway (it ends as soon as the serial answers). */
export const REDISCOVER_TIMEOUT_MS = 10_000;

export async function rediscoverGateway(
  serial: string | undefined,
  known: GatewayEndpoint | undefined,
  signal: AbortSignal,
): Promise<GatewayEndpoint | undefined> {
  const found = await discoverGateways({
    ...(serial !== undefined ? { targetSerial: serial, knownSerials: new Set([serial]) } : {}),
    timeoutMs: REDISCOVER_TIMEOUT_MS,
    signal,
  });
  // Without a serial, the one gateway that answers (with its credentials: its button was pressed).
  const gateway =
    serial !== undefined
      ? found.find((candidate) => candidate.serial === serial)
      : found.length === 1
        ? found[0]
        : undefined;
  if (!gateway) return undefined;
  return {
    serial: gateway.serial,
    host: gateway.address,
    port: gateway.port,
    tls: gateway.tls,
    username: gateway.credentials?.username ?? known?.username,
    password: gateway.credentials?.password ?? known?.password,
    caFile: known?.caFile,
  };
}

export function openDaliCenterBus(
  busId: string,
  devices: readonly DeviceConfig[],
  context?: Pick<OpenContext, 'clock' | 'updateFound'>,
): DaliCenterBusRuntime {
  const own = daliCenterDevices(devices);
  const serial = own[0]?.serial;
  const logger = getLogger(`dalicenter:${serial ?? 'default'}`);
  const endpoint = endpointOf(own);
  return new DaliCenterBusRuntime(busId, {
    serial,
    endpoint: async () => endpoint,
    devices: specsOf(own),
    clock: context?.clock,
    log: logger,
    rediscover: (wanted, signal) => rediscoverGateway(wanted, endpoint, signal),
    remember: (found) => {
      const gateway = own.find((device) => device.role === 'gateway');
      if (!gateway) return;
      const stored = context?.updateFound?.(gateway.id, {
        host: found.host,
        port: found.port,
        tls: found.tls,
      });
      logger.info(
        stored
          ? `stored the new address of DALI Center gateway ${found.serial} for the next start`
          : `DALI Center gateway ${found.serial} is configured by hand: change its host in the config file to ${found.host}:${found.port}`,
      );
    },
  });
}
