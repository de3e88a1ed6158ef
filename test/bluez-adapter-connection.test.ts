import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import type { BusRuntime } from '../src/drivers/contract.js';
import { BluezClient } from '../src/drivers/shared/bluez/dbus/client.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { SIMULATED_ADAPTER, simulatedBluezOf } from '../src/drivers/shared/bluez/simulator/perGateway.js';
import type { BluezSimulator } from '../src/drivers/shared/bluez/simulator/simulator.js';
import { buildTree } from '../src/gateway/tree.js';
import type { BusRegistry } from '../src/hosting/busRegistry.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { GatewayMetrics } from '../src/http/index.js';
import { transportCallMetrics } from '../src/drivers/registry.js';
import { systemClock } from '../src/machines/clock.js';
import { eventually } from './helpers/eventually.js';

// One D-Bus connection per adapter and gateway: the BLE line's session and the connected devices of the
// same adapter (a Renogy bus) share it, whichever starts first; closing one leaves it to the other;
// when it drops, it is opened again once for both, and both carry on. Each counts its own calls on it:
// a Renogy bus's (its connects, GATT calls, lookups) go to /metrics once, as Renogy's
// (`fieldbridge_transport_call_duration_seconds{driver="renogy"}`), whether or not a line runs; the
// line's series (`fieldbridge_dbus_call_duration_seconds`) keeps the line's own (counted against the
// calls the fake BlueZ received).

const HAVE_DBUS = findDbusDaemon() !== undefined;
if (!HAVE_DBUS) console.warn('bluez-adapter-connection.test.ts: dbus-daemon is not installed; skipped');

const CONFIG = [
  'devices:',
  '  - { id: ble_hci0, driver: ble, role: adapter, transport: simulated }',
  '  - { id: solar, driver: renogy, transport: simulated, connect_timeout_ms: 3000 }',
  '',
].join('\n');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const signal = () => AbortSignal.timeout(20_000);

interface Gateway {
  registry: BusRegistry;
  lineBus: string;
  renogyBus: string;
  simulator: () => BluezSimulator;
  connects: () => number;
  /** The connections the gateway opened, in order. */
  clients: () => Promise<BluezClient[]>;
  /** Calls of `operation` that ended ok on /metrics, in Renogy's series and in the BLE line's. */
  counted: (operation: string) => Promise<{ renogy: number; ble: number }>;
}

async function gateway(): Promise<Gateway> {
  const connect = vi.spyOn(BluezClient, 'connect');
  const metrics = new GatewayMetrics({ defaultMetrics: false, transportCallMetrics: transportCallMetrics() });
  const context = new GatewayOpenContext(systemClock, {
    recordCall: (call) => metrics.recordTransportCall(call),
  });
  const { input, registry } = buildTree(parseConfig(CONFIG, {}), context);
  cleanups.push(() => registry.closeAll());
  const busOf = (driver: string) => input.buses.find((bus) => bus.driver === driver)?.busId ?? '';
  return {
    registry,
    lineBus: busOf('ble'),
    renogyBus: busOf('renogy'),
    simulator: () => {
      const running = simulatedBluezOf(context).get(SIMULATED_ADAPTER);
      if (running === undefined) throw new Error('no fake BlueZ was started');
      return running.simulator;
    },
    // The fake BlueZ's own connection is made with dbus-next directly: these are the gateway's.
    connects: () => connect.mock.calls.length,
    clients: () => Promise.all(connect.mock.results.map((result) => result.value as Promise<BluezClient>)),
    counted: async (operation) => {
      const text = await metrics.text();
      const count = (prefix: string) => {
        const line = text.split('\n').find((entry) => entry.startsWith(prefix));
        return line === undefined ? 0 : Number(line.split(' ').at(-1));
      };
      return {
        renogy: count(
          `fieldbridge_transport_call_duration_seconds_count{driver="renogy",operation="${operation}",outcome="ok"}`,
        ),
        ble: count(`fieldbridge_dbus_call_duration_seconds_count{operation="${operation}",outcome="ok"}`),
      };
    },
  };
}

/** The unique names the gateway's calls to BlueZ came from (one per connection). */
function callers(simulator: BluezSimulator): string[] {
  return [...new Set(simulator.calls.map((call) => call.sender))];
}

async function poll(renogy: BusRuntime): Promise<Record<string, unknown>> {
  await renogy.connect('solar', signal());
  return (await renogy.execute('solar', 'poll', null, signal())) as Record<string, unknown>;
}

describe.skipIf(!HAVE_DBUS)('one D-Bus connection per adapter in a gateway', () => {
  it('the BLE line and a Renogy device on one adapter share one connection, whichever starts first or stops', async () => {
    const gw = await gateway();
    // Renogy first: its poll opens the adapter's connection; the line coming up after uses it.
    let renogy = await gw.registry.openBus(gw.renogyBus);
    expect((await poll(renogy)).battery_soc).toBe(87);
    const line = await gw.registry.openBus(gw.lineBus);
    await line.connect('ble_hci0', signal());
    expect((await poll(renogy)).battery_soc).toBe(87);
    const simulator = gw.simulator();
    expect(gw.connects()).toBe(1);
    expect(callers(simulator)).toHaveLength(1);
    expect(simulator.adapterStatus().scanningClients).toEqual(callers(simulator));

    // The Renogy bus restarts: the line keeps its connection and its scan; Renogy comes back on it.
    await gw.registry.closeBus(gw.renogyBus);
    expect(simulator.adapterStatus().scanningClients).toEqual(callers(simulator));
    renogy = await gw.registry.openBus(gw.renogyBus);
    expect((await poll(renogy)).battery_soc).toBe(87);
    expect(gw.connects()).toBe(1);

    // The line stops: Renogy keeps reading on the same connection, scanning for the device itself.
    await gw.registry.closeBus(gw.lineBus);
    expect(simulator.adapterStatus().scanningClients).toEqual([]);
    expect((await poll(renogy)).battery_soc).toBe(87);
    expect(gw.connects()).toBe(1);
    expect(callers(simulator)).toHaveLength(1);
  }, 30_000);

  it('a dropped connection is opened again once, and the line and Renogy both carry on over it', async () => {
    const gw = await gateway();
    const line = await gw.registry.openBus(gw.lineBus);
    const lost: string[] = [];
    line.watchBus((event) => {
      if (event.type === 'lost') lost.push(event.error);
    });
    await line.connect('ble_hci0', signal());
    const renogy = await gw.registry.openBus(gw.renogyBus);
    expect((await poll(renogy)).battery_soc).toBe(87);
    expect(gw.connects()).toBe(1);

    // The bus goes away under the gateway (a dbus-daemon restart): the connection drops.
    const simulator = gw.simulator();
    const [first] = await gw.clients();
    await simulator.stop();
    await eventually(() => first?.closed === true, { what: 'the connection to drop' });
    expect(lost).not.toEqual([]);
    await simulator.start();
    simulator.resetCalls();

    // Both come back at the same time (the supervisor reconnects the adapter, Renogy polls).
    const [, reading] = await Promise.all([line.connect('ble_hci0', signal()), poll(renogy)]);
    expect(reading.battery_soc).toBe(87);
    expect(gw.connects()).toBe(2);
    expect(callers(simulator)).toHaveLength(1);
    await eventually(() => simulator.adapterStatus().scanningClients.length === 1, {
      what: 'the line scanning again',
    });
    expect(simulator.adapterStatus().scanningClients).toEqual(callers(simulator));
  }, 30_000);
});

/** The calls of Renogy polls, each counted once, as Renogy's: as many as the fake BlueZ received. */
async function expectRenogyCalls(gw: Gateway): Promise<void> {
  for (const operation of ['Device1.Connect', 'Device1.Disconnect', 'GattCharacteristic1.WriteValue']) {
    const received = gw.simulator().callCount(operation);
    expect(received, operation).toBeGreaterThan(0);
    expect(await gw.counted(operation), operation).toEqual({ renogy: received, ble: 0 });
  }
}

describe.skipIf(!HAVE_DBUS)("each user's calls on the shared connection, on /metrics", () => {
  it('Renogy calls are recorded as Renogy calls when no BLE line runs, and once after the bus restarts', async () => {
    const gw = await gateway();
    let renogy = await gw.registry.openBus(gw.renogyBus);
    await poll(renogy);
    await expectRenogyCalls(gw);
    // A restarted bus records its calls afresh, the old one's listener gone: still one count per call.
    await gw.registry.closeBus(gw.renogyBus);
    renogy = await gw.registry.openBus(gw.renogyBus);
    await poll(renogy);
    await expectRenogyCalls(gw);
  }, 30_000);

  it('Renogy calls are recorded once, as Renogy calls, while a BLE line shares the connection; the line keeps its own', async () => {
    const gw = await gateway();
    const line = await gw.registry.openBus(gw.lineBus);
    await line.connect('ble_hci0', signal());
    const renogy = await gw.registry.openBus(gw.renogyBus);
    await poll(renogy);
    expect(gw.connects()).toBe(1);
    await expectRenogyCalls(gw);
    // The line's discovery (started at bring-up, resumed after each connect) is the line's alone.
    const started = gw.simulator().callCount('Adapter1.StartDiscovery');
    expect(started).toBeGreaterThan(1);
    expect(await gw.counted('Adapter1.StartDiscovery')).toEqual({ renogy: 0, ble: started });
  }, 30_000);
});
