import { describe, expect, it } from 'vitest';
import { DbusCallStats } from '../src/drivers/ble/dbus/stats.js';
import { GatewayMetrics } from '../src/http/index.js';

// How the BLE driver's D-Bus call figures reach /metrics: the gateway listens to the stats and feeds
// the Prometheus histogram (src/gateway/operations.ts does exactly this).

describe('D-Bus call latency on /metrics', () => {
  it('feeds every recorded call into fieldbridge_dbus_call_duration_seconds', async () => {
    const stats = new DbusCallStats();
    const metrics = new GatewayMetrics();
    const stop = stats.listen((operation, ms, outcome) =>
      metrics.recordDbusCall(operation, ms / 1000, outcome),
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
