import { z } from 'zod';
import type { FieldbridgeConfig } from '../../config/index.js';
import type { GatewayNotice } from '../../machines/notices.js';
import { fieldsOf, type LineScan, type ScanContext, scanCapability } from '../contract.js';
import { freeId } from '../shared/freeId.js';
import { classifyDeviceType, deviceKey, type FoundDevice, type KelvinLimits } from './codec/index.js';
import { daliCenterBus, type DaliCenterDevice } from './config.js';
import type { GatewayContents } from './inventory.js';
import { PAIR_DEFAULT_S, PAIR_MAX_S, pairingScan } from './pairing.js';

// A DALI Center gateway's devices come from its own inventory: the scan reads the gateway's device
// list, groups and scenes over the running link and makes each a device (stored, as DALI lamps found
// by a scan). `bus_scan: true` first has the gateway search its DALI lines (`searchDev busDevice`, up
// to 10 minutes, progress logged per batch) for gear it does not know yet. Every gateway is read at
// start when none of its devices is known, and again when it comes back with none known.

const daliCenterScanRequest = z.strictObject({
  driver: z.literal('dalicenter'),
  /** Which gateway (needed when more than one is configured or paired). */
  serial: z.string().min(1).optional(),
  /** Search the DALI lines for new gear first (slow: minutes); else read the gateway's list. */
  bus_scan: z.boolean().optional(),
  /** Pair: listen for gateways whose button is pressed and store them with their credentials. */
  pair: z.boolean().optional(),
  /** How long pairing listens (seconds). */
  duration_s: z.number().int().min(1).max(PAIR_MAX_S).optional(),
  /** Pairing across subnets: ask this address instead of the multicast group (and at this port). */
  request_address: z.ipv4().optional(),
  request_port: z.number().int().min(1).max(65535).optional(),
  /** Pairing: the UDP port replies are listened for on (default 50569). */
  listen_port: z.number().int().min(1).max(65535).optional(),
});

export type DaliCenterScanRequest = z.output<typeof daliCenterScanRequest>;

/** The pair request's fields: the scan's pairing fields (`pair: true` is implied). */
export const daliCenterPairFields = daliCenterScanRequest.pick({
  duration_s: true,
  request_address: true,
  request_port: true,
  listen_port: true,
});

const gatewaysOf = (config: FieldbridgeConfig): DaliCenterDevice[] =>
  config.devices.flatMap((device) =>
    device.driver === 'dalicenter' && device.role === 'gateway' ? [device] : [],
  );

function roleOf(found: FoundDevice): DaliCenterDevice['role'] | undefined {
  const kind = classifyDeviceType(found.devType).kind;
  return kind === 'light' || kind === 'motion' || kind === 'illuminance' || kind === 'panel'
    ? kind
    : undefined;
}

const kelvinOf = (limits: KelvinLimits | undefined) =>
  limits ? { min_kelvin: limits.warmest, max_kelvin: limits.coolest } : {};

/** The device entries of a gateway's contents (ids not yet taken; a known device keeps its id). */
export function inventoryEntries(
  gateway: DaliCenterDevice,
  contents: Pick<GatewayContents, 'devices' | 'groups' | 'scenes'> & Partial<Pick<GatewayContents, 'kelvin'>>,
  known: readonly DaliCenterDevice[],
  taken: Set<string>,
): Record<string, unknown>[] {
  const prefix = `dalicenter_${(gateway.serial ?? 'gw').toLowerCase().slice(-6)}`;
  const common = {
    driver: 'dalicenter',
    transport: gateway.transport,
    ...(gateway.serial !== undefined ? { serial: gateway.serial } : {}),
  };
  const idFor = (wanted: string, match: (device: DaliCenterDevice) => boolean) =>
    known.find((device) => device.serial === gateway.serial && match(device))?.id ?? freeId(wanted, taken);
  const entries: Record<string, unknown>[] = [];
  for (const found of contents.devices) {
    const role = roleOf(found);
    if (!role) continue;
    const where = `${found.channel > 0 ? `${found.channel}_` : ''}${found.address}`;
    const id = idFor(
      `${prefix}_${role}_${where}`,
      (device) =>
        device.role === role &&
        device.dev_type === found.devType &&
        device.channel === found.channel &&
        device.address === found.address,
    );
    entries.push({
      id,
      name: found.name ?? `${classifyDeviceType(found.devType).model} ${where}`,
      ...common,
      role,
      dev_type: found.devType,
      channel: found.channel,
      address: found.address,
      ...kelvinOf(contents.kelvin?.get(deviceKey(found))),
    });
  }
  for (const group of contents.groups) {
    const id = idFor(
      `${prefix}_group_${group.channel > 0 ? `${group.channel}_` : ''}${group.groupId}`,
      (device) =>
        device.role === 'group' && device.group_id === group.groupId && device.channel === group.channel,
    );
    entries.push({
      id,
      name: group.name || `Group ${group.groupId}`,
      ...common,
      role: 'group',
      channel: group.channel,
      group_id: group.groupId,
    });
  }
  for (const scene of contents.scenes) {
    const id = idFor(
      `${prefix}_scene_${scene.channel > 0 ? `${scene.channel}_` : ''}${scene.sceneId}`,
      (device) =>
        device.role === 'scene' && device.scene_id === scene.sceneId && device.channel === scene.channel,
    );
    entries.push({
      id,
      name: scene.name || `Scene ${scene.sceneId}`,
      ...common,
      role: 'scene',
      channel: scene.channel,
      scene_id: scene.sceneId,
    });
  }
  return entries;
}

function prepareScan(context: ScanContext, request: DaliCenterScanRequest): LineScan | { error: string } {
  if (request.pair)
    return pairingScan(context, {
      durationS: request.duration_s ?? PAIR_DEFAULT_S,
      requestAddress: request.request_address,
      requestPort: request.request_port,
      listenPort: request.listen_port,
    });
  const gateways = gatewaysOf(context.config);
  const wanted = request.serial?.toUpperCase();
  const gateway =
    wanted === undefined
      ? gateways.length === 1
        ? gateways[0]
        : undefined
      : gateways.find((g) => g.serial === wanted);
  if (!gateway) {
    const known = gateways.map((g) => g.serial ?? g.id).join(', ') || 'none (pair one: dalicenter/pair)';
    return {
      error:
        wanted === undefined
          ? `say which DALI Center gateway to scan ("serial"): known are ${known}`
          : `gateway ${wanted} is not configured or paired (known: ${known})`,
    };
  }
  const line = `DALI Center gateway ${gateway.serial ?? gateway.id}`;
  return {
    line,
    describe: request.bus_scan
      ? 'a search of its DALI lines, then its device list'
      : 'its device list, groups and scenes',
    async run(signal, taken) {
      const busId = gateway.bus ?? daliCenterBus(fieldsOf(gateway));
      const inventory = context.registry.find(busId)?.capabilities?.daliCenterGateway;
      if (!inventory) throw new Error(`the bus of ${line} is not running`);
      if (request.bus_scan) {
        const found = await inventory.busScan(gateway.channels ?? [0], signal, (added) =>
          context.log(
            `${line}: the bus scan found ${added.map((d) => `${d.devType}@${d.channel}/${d.address}`).join(', ')}`,
          ),
        );
        context.log(`${line}: the bus scan finished with ${found.length} device(s)`);
      }
      const contents = await inventory.read(signal);
      const known = context.config.devices.flatMap((device) =>
        device.driver === 'dalicenter' ? [device] : [],
      );
      const entries = inventoryEntries(gateway, contents, known, taken);
      const devices = entries.map((config) => ({ id: String(config.id), config, foundAt: Date.now() }));
      const found = entries.map(({ id, role, dev_type, channel, address, group_id, scene_id, name }) => ({
        id,
        role,
        name,
        ...(dev_type !== undefined ? { dev_type, address } : {}),
        channel,
        ...(group_id !== undefined ? { group_id } : {}),
        ...(scene_id !== undefined ? { scene_id } : {}),
      }));
      return { found, devices };
    },
  };
}

const hasInventory = (config: FieldbridgeConfig, gateway: DaliCenterDevice) =>
  config.devices.some(
    (device) =>
      device.driver === 'dalicenter' && device.role !== 'gateway' && device.serial === gateway.serial,
  );

/** Reads every gateway at start whose devices are not known yet. */
function gatewaysToScanAtStart(config: FieldbridgeConfig): DaliCenterScanRequest[] {
  return gatewaysOf(config)
    .filter((gateway) => !hasInventory(config, gateway))
    .map((gateway) => ({
      driver: 'dalicenter',
      ...(gateway.serial !== undefined ? { serial: gateway.serial } : {}),
    }));
}

/**
 * A gateway whose devices are not known is read when it comes up: one unreachable at start, one just
 * paired, one whose first read was cut (a connection reset mid-list). Once per time it comes up, so a
 * gateway without devices is not read again while it stays connected.
 */
function readWhenUp(
  config: () => FieldbridgeConfig,
  rescan: (request: DaliCenterScanRequest) => void,
): (notice: GatewayNotice) => void {
  const asked = new Set<string>();
  return (notice) => {
    if (notice.type !== 'device.status') return;
    const gateway = gatewaysOf(config()).find((candidate) => candidate.id === notice.deviceId);
    if (!gateway) return;
    if (notice.status === 'reconnecting' || notice.status === 'offline') asked.delete(gateway.id);
    if (notice.status !== 'connected.healthy' || asked.has(gateway.id) || hasInventory(config(), gateway))
      return;
    asked.add(gateway.id);
    rescan({ driver: 'dalicenter', ...(gateway.serial !== undefined ? { serial: gateway.serial } : {}) });
  };
}

export const daliCenterScan = scanCapability(daliCenterScanRequest, {
  linesToScanAtStart: gatewaysToScanAtStart,
  prepare: prepareScan,
  rescanOn: readWhenUp,
});
