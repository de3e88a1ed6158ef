import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JsonValue } from '../../src/drivers/contract.js';
import { DRIVERS, entitiesOf } from '../../src/drivers/registry.js';
import { DeviceEvents } from '../../src/bridge/deviceEvents.js';
import { DiscoveryTracker } from '../../src/bridge/discoveryTracker.js';
import { freshHealth, healthPayload } from '../../src/bridge/health.js';
import { ReadingWriter } from '../../src/bridge/readingWriter.js';
import { Topics } from '../../src/bridge/topics.js';
import type { DeviceConfig } from '../../src/config/index.js';
import type { GatewayClock } from '../../src/machines/clock.js';
import { BRIDGE_ONLINE } from '../../src/mqtt/index.js';
import { openPersistence } from '../../src/persistence/index.js';
import { groupByBus } from '../../src/gateway/tree.js';
import { GatewayOpenContext } from '../../src/hosting/openContext.js';
import type { PublishedEntity } from './homeAssistantRules.js';

// What Home Assistant gets from fieldbridge for some devices: the discovery configs the bridge's own
// DiscoveryTracker builds from the devices' states, and the retained payloads of the topics those
// configs read (each device's state as the real ReadingWriter writes it to the outbox, its
// availability, the bridge's state and health).

export interface Published {
  entities: PublishedEntity[];
  /** What each topic carries last. */
  payloads: Map<string, string>;
  /** The topics of `payloads` whose messages are not retained (events). */
  notRetained: Set<string>;
}

const topics = new Topics('fieldbridge');

/** The configs and topic payloads after `results` (device id, operation result) were recorded in order. */
export function published(
  devices: readonly DeviceConfig[],
  results: readonly (readonly [string, JsonValue])[],
): Published {
  const dir = mkdtempSync(join(tmpdir(), 'fb-ha-'));
  const persistence = openPersistence({ path: join(dir, 'db.sqlite') });
  try {
    const byId = new Map(devices.map((device) => [device.id, device]));
    const writer = new ReadingWriter(persistence, topics, () => undefined, new DeviceEvents(topics, byId));
    for (const [deviceId, result] of results) writer.add(deviceId, result, Date.now());
    if (!writer.flush()) throw new Error('the readings could not be committed');
    const payloads = new Map<string, string>();
    const notRetained = new Set<string>();
    for (const message of persistence.outbox.peek(1_000_000)) {
      if (message.kind === 'reading') continue;
      payloads.set(message.topic, message.payload);
      if (!message.retain) notRetained.add(message.topic);
    }
    payloads.set(topics.bridgeState, BRIDGE_ONLINE);
    for (const device of devices) payloads.set(topics.availability(device.id), 'online');
    const now = Date.now();
    const health = healthPayload({
      now,
      startedAt: now - 60_000,
      linkOnline: true,
      lastMqttAt: now,
      catchingUp: false,
      devices: new Map(devices.map((device) => [device.id, freshHealth(device)])),
      queue: persistence.outbox.stats(),
    });
    payloads.set(topics.bridgeHealth, JSON.stringify(health));
    const configs = new DiscoveryTracker(topics, '0.0.0-test').configs(devices, 180, writer.states);
    const entities = configs.map((message) => ({
      topic: message.topic,
      config: JSON.parse(message.payload) as Record<string, unknown>,
    }));
    return { entities, payloads, notRetained };
  } finally {
    persistence.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs devices the way the gateway does, on their driver's own transport (simulated ones in-process):
 * every bus opened, every device connected and polled twice, lights switched on and read back, and
 * what the bus reports by itself (BLE advertisements) collected for `listenMs`. Returns the results in
 * the order they came.
 */
export async function runDevices(
  devices: readonly DeviceConfig[],
  clock: GatewayClock,
  listenMs: number,
  /** The gateway's, when the caller keeps it across runs (and closes it); else one for this run. */
  gateway?: GatewayOpenContext,
): Promise<[string, JsonValue][]> {
  const results: [string, JsonValue][] = [];
  const signal = () => AbortSignal.timeout(15_000);
  const context = gateway ?? new GatewayOpenContext(clock);
  try {
    await openEach(devices, context, signal, listenMs, results);
  } finally {
    // What the openers kept (a simulated BlueZ), as the gateway stops it.
    if (!gateway) await context.close();
  }
  return results;
}

async function openEach(
  devices: readonly DeviceConfig[],
  context: GatewayOpenContext,
  signal: () => AbortSignal,
  listenMs: number,
  results: [string, JsonValue][],
): Promise<void> {
  for (const [busId, busDevices] of groupByBus(devices)) {
    const first = busDevices[0] as DeviceConfig;
    const open = DRIVERS[first.driver].transports[first.transport];
    if (!open) throw new Error(`${busId}: no transport ${first.transport} for ${first.driver}`);
    const runtime = await open(busId, busDevices, context);
    const stop = runtime.watchBus((event) => {
      if (event.type === 'device' && event.event.type === 'data')
        results.push([event.deviceId, event.event.result]);
    });
    try {
      for (const device of busDevices) await runtime.connect(device.id, signal());
      for (const device of busDevices) {
        const isLight = entitiesOf(device, undefined).some((entity) => entity.component === 'light');
        const run = async (operation: string, args: JsonValue) => {
          try {
            results.push([device.id, await runtime.execute(device.id, operation, args, signal())]);
          } catch (error) {
            // A sensor that only advertises has no poll: what it says comes as bus events.
            if (operation !== 'poll') throw error;
          }
        };
        await run('poll', null);
        if (isLight) await run('set', { state: 'ON', brightness: 120, transition: 0 });
        await run('poll', null);
      }
      await new Promise((resolve) => setTimeout(resolve, listenMs));
    } finally {
      stop();
      await runtime.close();
    }
  }
}
