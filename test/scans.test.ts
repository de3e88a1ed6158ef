import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import type { BusRuntime, ScanRequest } from '../src/drivers/contract.js';
import type { FoundMeter } from '../src/drivers/mbus/scan.js';
import { DRIVER_MODULES, DRIVERS } from '../src/drivers/registry.js';
import { simulatedDaliAdaptersOf } from '../src/drivers/dali/simulatedAdapters.js';
import { DaliBus, FakeHidEnumerator } from '../src/drivers/dali/simulator/index.js';
import { withDiscovered } from '../src/gateway/discovered.js';
import { BusScanner, rescanOnNotices, scanLinesAtStart } from '../src/gateway/scans.js';
import { BusRegistry } from '../src/hosting/busRegistry.js';
import type { GatewayNotice } from '../src/machines/notices.js';
import type { DiscoveredDevice } from '../src/persistence/index.js';

// The shared part of bus scans (src/gateway/scans.ts) reaches each driver only through its `scan`
// capability, and a running bus only through what it lends (BusRuntime.capabilities).

const METER: FoundMeter = {
  target: { primary: 7 },
  secondary: '12340007',
  manufacturer: 'ABC',
  medium: 'heat',
  version: 1,
};

/** A bus runtime of no driver's class that lends an M-Bus line scan. */
function lendingRuntime(busId: string, scans: string[]): BusRuntime {
  return {
    busId,
    connect: async () => {},
    disconnect: async () => {},
    execute: async () => null,
    watchBus: () => () => {},
    runRecoveryStep: async () => {},
    close: async () => {},
    capabilities: {
      mbusLineScan: {
        scan: async (mode) => {
          scans.push(mode.kind);
          return [METER];
        },
      },
    },
  };
}

function scannerOf(yaml: string, registry = new BusRegistry()) {
  const config = withDiscovered(parseConfig(yaml, {}), []).config;
  const added: DiscoveredDevice[] = [];
  const scanner = new BusScanner({
    registry,
    config: () => config,
    addDevices: (devices) => {
      added.push(...devices);
      return devices.map((device) => device.id);
    },
  });
  return { config, scanner, added };
}

describe('bus scans', () => {
  it('refuses a driver that cannot scan instead of sending it to another driver’s scan', async () => {
    const { scanner } = scannerOf('');
    expect(await scanner.scan({ driver: 'simulated' }, AbortSignal.timeout(5_000))).toEqual({
      ok: false,
      error: 'driver simulated cannot scan (drivers that can: mbus, dali, ble, dalicenter)',
    });
    expect(DRIVER_MODULES.filter((driver) => driver.scan).map((driver) => driver.name)).toEqual([
      'mbus',
      'dali',
      'ble',
      'dalicenter',
    ]);
  });

  it('scans on the running bus through the scan it lends, whatever its class', async () => {
    const registry = new BusRegistry();
    const { config, scanner, added } = scannerOf(
      'devices: [{ id: m5, driver: mbus, port: /dev/ttyFAKE0, address: 5 }]\n',
      registry,
    );
    const busId = config.devices[0]?.bus ?? '';
    const scans: string[] = [];
    registry.define(busId, () => lendingRuntime(busId, scans));
    await registry.openBus(busId);
    const request = { driver: 'mbus', mode: 'primary', to: 10 };
    const outcome = await scanner.scan(request, AbortSignal.timeout(5_000));
    expect(outcome).toMatchObject({
      ok: true,
      data: {
        driver: 'mbus',
        line: '/dev/ttyFAKE0',
        found: [{ id: 'mbus_12340007', secondary_address: '12340007', primary_address: 7 }],
        added: ['mbus_12340007'],
      },
    });
    expect(scans).toEqual(['primary']);
    expect(added[0]?.config).toMatchObject({ driver: 'mbus', port: '/dev/ttyFAKE0', address: 7 });
  });

  it('opens a line no bus runs on the gateway’s OpenContext (a simulated DALI line: the adapter it keeps)', async () => {
    const registry = new BusRegistry();
    const { scanner } = scannerOf('dali: [{ transport: simulated }]\n', registry);
    // The gateway's simulated adapter, with one lamp at short address 9 (a fresh one would have 0-3).
    const adapter = new FakeHidEnumerator();
    adapter.plug({
      bus: new DaliBus({ gear: [{ shortAddress: 9, groups: [] }] }),
      fast: true,
      idleIntervalMs: 0,
    });
    simulatedDaliAdaptersOf(registry.context).set('dali:simulated', adapter);
    const outcome = await scanner.scan({ driver: 'dali' }, AbortSignal.timeout(10_000));
    expect(outcome).toMatchObject({ ok: true, data: { found: [{ id: 'dali_lamp_9', short: 9 }] } });
    await registry.closeAll();
  });

  it('asks each driver which lines to scan at start', () => {
    const yaml = [
      'mbus: [{ port: /dev/ttyA }, { port: /dev/ttyB, scan_on_start: never }]',
      'dali: [{ adapter_serial: A1 }, { adapter_serial: A2, scan_on_start: always }]',
      'ble: [{ adapter: hci0 }]',
      'devices: [{ id: lamp, driver: dali, adapter_serial: A2, address: 1 }]',
    ].join('\n');
    const { config } = scannerOf(yaml);
    const asked: ScanRequest[] = [];
    scanLinesAtStart(
      config,
      { scan: async (request) => (asked.push(request), { ok: true, data: {} }) },
      AbortSignal.timeout(5_000),
    );
    expect(asked).toEqual([
      { driver: 'mbus', port: '/dev/ttyA', mode: 'secondary', from: 0, to: 250 },
      { driver: 'dali', adapter_serial: 'A1' },
      { driver: 'dali', adapter_serial: 'A2' },
    ]);
    expect(DRIVERS.ble.scan?.linesToScanAtStart).toBeUndefined();
  });

  it('hands notices to the drivers that rescan on one (a DALI adapter back after a replug)', () => {
    const { config } = scannerOf('dali: [{ adapter_serial: A1 }]\n');
    const asked: ScanRequest[] = [];
    const rescan = rescanOnNotices(
      () => config,
      { scan: async (request) => (asked.push(request), { ok: true, data: {} }) },
      AbortSignal.timeout(5_000),
    );
    const status = (value: string) =>
      ({ type: 'device.status', deviceId: 'dali_adapter_A1', status: value }) as unknown as GatewayNotice;
    rescan(status('connected.healthy'));
    expect(asked).toEqual([]);
    rescan(status('reconnecting'));
    rescan(status('connected.healthy'));
    expect(asked).toEqual([{ driver: 'dali', adapter_serial: 'A1' }]);
  });
});
