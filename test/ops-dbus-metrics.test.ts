import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import type { HeardDevice } from '../src/drivers/contract.js';
import { DbusCallStats } from '../src/drivers/shared/bluez/dbus/stats.js';
import { findDbusDaemon } from '../src/drivers/shared/bluez/simulator/daemon.js';
import { buildTree } from '../src/gateway/tree.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { transportCallMetrics } from '../src/drivers/registry.js';
import { GatewayMetrics } from '../src/http/index.js';
import { systemClock } from '../src/machines/clock.js';
import { eventually } from './helpers/eventually.js';

// How the BLE driver's D-Bus call figures and the sensors it hears reach the gateway: through the
// OpenContext its opener is given (src/gateway.ts feeds the Prometheus histogram and auto_add from
// it), never through a process-wide hub; and the fake BlueZ of a simulated bus stops with the gateway.

describe('D-Bus call latency on /metrics', () => {
  it('feeds every recorded call into fieldbridge_dbus_call_duration_seconds', async () => {
    const stats = new DbusCallStats();
    const metrics = new GatewayMetrics({ transportCallMetrics: transportCallMetrics() });
    const stop = stats.listen((operation, ms, outcome) =>
      metrics.recordTransportCall({ driver: 'ble', operation, seconds: ms / 1000, outcome }),
    );
    stats.record('Adapter1.StartDiscovery', 120, 'ok');
    stats.record('Properties.Get(Powered)', 5_000, 'timeout');
    stop();
    stats.record('Adapter1.StartDiscovery', 80, 'ok'); // after stop: not counted
    const text = await metrics.text();
    expect(text).toMatch(
      /^fieldbridge_dbus_call_duration_seconds_count\{operation="Adapter1.StartDiscovery",outcome="ok"\} 1$/m,
    );
    expect(text).toMatch(
      /^fieldbridge_dbus_call_duration_seconds_count\{operation="Properties.Get\(Powered\)",outcome="timeout"\} 1$/m,
    );
    expect(stats.snapshot()['Adapter1.StartDiscovery']?.calls).toBe(2);
  });
});

/** The private dbus-daemons this process started (the fake BlueZ's bus). */
function ownDbusDaemons(): string[] {
  const found = spawnSync('pgrep', ['-f', '-P', String(process.pid), 'dbus-daemon'], { encoding: 'utf8' });
  return found.stdout.split('\n').filter(Boolean);
}

describe.skipIf(findDbusDaemon() === undefined)('a bus reports to the OpenContext it was opened with', () => {
  it('its D-Bus calls, the sensors nobody configured, and its fake BlueZ stops with the gateway', async () => {
    const metrics = new GatewayMetrics({ transportCallMetrics: transportCallMetrics() });
    const heard: HeardDevice[] = [];
    const context = new GatewayOpenContext(systemClock, {
      heard: (device) => heard.push(device),
      recordCall: (call) => metrics.recordTransportCall(call),
    });
    // Another gateway in the same process: it must hear nothing of the first one's bus.
    const otherHeard: HeardDevice[] = [];
    new GatewayOpenContext(systemClock, { heard: (device) => otherHeard.push(device) });
    const config = parseConfig(
      'devices:\n  - { id: ble_hci0, driver: ble, role: adapter, transport: simulated }\n',
      {},
    );
    const { input, registry } = buildTree(config, context);
    const busId = input.buses[0]?.busId ?? '';
    const runtime = await registry.openBus(busId);
    await runtime.connect('ble_hci0', AbortSignal.timeout(15_000));
    // The simulated line's three demo sensors (BTHome, Ruuvi, pvvx), none configured.
    await eventually(() => heard.length >= 3, { what: 'three sensors heard', timeoutMs: 15_000 });
    expect(heard.every((device) => device.busId === busId)).toBe(true);
    expect(otherHeard).toEqual([]);
    expect(await metrics.text()).toMatch(
      /^fieldbridge_dbus_call_duration_seconds_count\{operation="Adapter1.StartDiscovery",outcome="ok"\} [1-9]/m,
    );
    expect(ownDbusDaemons()).toHaveLength(1);
    await registry.closeAll();
    await eventually(() => ownDbusDaemons().length === 0, { what: 'the fake BlueZ to stop' });
  }, 30_000);
});
