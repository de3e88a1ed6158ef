import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { DaliReplugRescan } from '../src/drivers/dali/adapterDevices.js';
import { impliedDevices } from '../src/gateway/discovered.js';
import type { GatewayNotice } from '../src/machines/notices.js';

const config = parseConfig(
  ['dali:', '  - { adapter_serial: A1, self_test_interval_ms: 30000 }', '  - { transport: simulated }'].join(
    '\n',
  ),
  {},
);

function status(deviceId: string, value: string): GatewayNotice {
  return {
    type: 'device.status',
    deviceId,
    status: value,
    reason: 'test',
    consecutiveFailures: 0,
    at: 0,
  } as unknown as GatewayNotice;
}

describe('DALI adapter devices', () => {
  it('gives each dali: line an adapter device that polls the bus self-test', () => {
    const adapters = impliedDevices(config);
    expect(adapters.map((device) => device.id)).toEqual(['dali_adapter_A1', 'dali_adapter']);
    expect(adapters[0]).toMatchObject({
      role: 'adapter',
      adapter_serial: 'A1',
      poll_interval_ms: 30_000,
      bus: 'dali:A1',
    });
    expect(adapters[1]).toMatchObject({ role: 'adapter', transport: 'simulated', bus: 'dali:simulated' });
  });

  it('refuses an adapter device with a lamp address', () => {
    expect(() => parseConfig('devices: [{ id: a, driver: dali, role: adapter, address: 3 }]', {})).toThrow(
      /belongs to a light, not to the adapter device/,
    );
  });

  it('rescans a line when its adapter is back after being down, not at its first connect', () => {
    const effective = { ...config, devices: [...impliedDevices(config), ...config.devices] };
    const rescans: (string | undefined)[] = [];
    const rescan = new DaliReplugRescan(
      () => effective,
      (line) => rescans.push(line.adapter_serial),
    );
    rescan.handle(status('dali_adapter_A1', 'connected.healthy'));
    expect(rescans).toEqual([]);
    rescan.handle(status('dali_adapter_A1', 'reconnecting'));
    rescan.handle(status('dali_adapter_A1', 'connected.healthy'));
    rescan.handle(status('dali_adapter_A1', 'connected.healthy'));
    expect(rescans).toEqual(['A1']);
  });
});
