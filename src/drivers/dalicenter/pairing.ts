import type { FieldbridgeConfig } from '../../config/index.js';
import type { LineScan, ScanContext } from '../contract.js';
import { freeId } from '../shared/freeId.js';
import type { DiscoveredGateway } from './codec/index.js';
import type { DaliCenterDevice } from './config.js';

// Pairing (notes §2): a gateway reveals its broker's user name and password in its discovery reply only
// while its button is pressed. Pairing listens for a bounded time, asks the user (in the log, and the
// request's answer says so too) to press the button, and stores every gateway that answered with its
// credentials as a `role: gateway` device: serial, address, port, TLS flag, channels and credentials
// (secrets: masked in check-config and errors, never logged, never in an answer). A gateway that
// answers without them (button not pressed) is named in the answer so the user knows to press it.

export const PAIR_DEFAULT_S = 60;
export const PAIR_MAX_S = 600;

export interface PairOptions {
  durationS: number;
  /** Where the discovery request goes (default: the multicast group); a unicast address reaches another subnet. */
  requestAddress?: string | undefined;
  requestPort?: number | undefined;
  /** Where the replies are listened for (default 50569, then fallbacks). */
  listenPort?: number | undefined;
}

/** Runs the discovery (loaded on first use: a gateway that never pairs never loads it). */
type Discover = (
  options: PairOptions,
  signal: AbortSignal,
  onGateway: (gateway: DiscoveredGateway) => void,
) => Promise<DiscoveredGateway[]>;

const discoverForPairing: Discover = async (options, signal, onGateway) => {
  const { discoverGateways } = await import('./discoveryClient.js');
  return discoverGateways({
    timeoutMs: options.durationS * 1000,
    signal,
    onGateway,
    ...(options.requestAddress !== undefined ? { requestAddress: options.requestAddress } : {}),
    ...(options.requestPort !== undefined ? { requestPort: options.requestPort } : {}),
    ...(options.listenPort !== undefined ? { listenPorts: [options.listenPort] } : {}),
  });
};

/** The stored gateway device of a paired gateway (a known one keeps its id). */
export function pairedGatewayEntry(
  gateway: DiscoveredGateway & { credentials: NonNullable<DiscoveredGateway['credentials']> },
  known: readonly DaliCenterDevice[],
  taken: Set<string>,
): Record<string, unknown> {
  const existing = known.find((device) => device.role === 'gateway' && device.serial === gateway.serial);
  return {
    id: existing?.id ?? freeId(`dalicenter_${gateway.serial.toLowerCase().slice(-6)}`, taken),
    name: gateway.name,
    driver: 'dalicenter',
    transport: 'mqtt',
    serial: gateway.serial,
    role: 'gateway',
    host: gateway.address,
    port: gateway.port,
    tls: gateway.tls,
    channels: gateway.channels,
    username: gateway.credentials.username,
    password: gateway.credentials.password,
    poll_interval_ms: 60_000,
  };
}

export function pairingScan(
  context: ScanContext,
  options: PairOptions,
  discover: Discover = discoverForPairing,
): LineScan {
  return {
    line: 'DALI Center pairing',
    describe: `discovery for ${options.durationS} s: press the button on each DALI Center gateway to pair now`,
    async run(signal, taken) {
      context.warn(
        `DALI Center pairing: press the button on each gateway to pair within ${options.durationS} s (its credentials are only revealed while it is pressed)`,
      );
      const heard = new Set<string>();
      // Every gateway that answered, with its credentials when it sent them (the run keeps only those).
      const seen = new Map<string, DiscoveredGateway>();
      const returned = await discover(options, signal, (gateway) => {
        if (gateway.credentials !== undefined || !seen.get(gateway.serial)?.credentials)
          seen.set(gateway.serial, gateway);
        const key = `${gateway.serial}:${gateway.credentials ? 'paired' : 'heard'}`;
        if (heard.has(key)) return;
        heard.add(key);
        context.log(
          gateway.credentials
            ? `DALI Center gateway ${gateway.serial} at ${gateway.address}:${gateway.port} answered with its credentials`
            : `DALI Center gateway ${gateway.serial} at ${gateway.address} answered without credentials (press its button)`,
        );
      });
      for (const gateway of returned)
        if (gateway.credentials !== undefined || !seen.has(gateway.serial)) seen.set(gateway.serial, gateway);
      const gateways = [...seen.values()];
      const known = knownDevices(context.config);
      const devices = gateways
        .flatMap((gateway) =>
          gateway.credentials
            ? [
                {
                  id: '',
                  config: pairedGatewayEntry({ ...gateway, credentials: gateway.credentials }, known, taken),
                  foundAt: Date.now(),
                },
              ]
            : [],
        )
        .map((device) => ({ ...device, id: String(device.config.id) }));
      // What the answer says: never the credentials.
      const found = gateways.map((gateway) => ({
        serial: gateway.serial,
        address: gateway.address,
        port: gateway.port,
        tls: gateway.tls,
        channels: gateway.channels,
        name: gateway.name,
        paired: gateway.credentials !== undefined,
        ...(gateway.credentials ? {} : { hint: 'press the gateway button during pairing to pair it' }),
      }));
      return { found, devices };
    },
  };
}

function knownDevices(config: FieldbridgeConfig): DaliCenterDevice[] {
  return config.devices.flatMap((device) => (device.driver === 'dalicenter' ? [device] : []));
}
