import { describe, expect, it } from 'vitest';
import {
  deviceBus,
  devicePolicy,
  MASK,
  maskSecrets,
  parseConfig,
  supervisorPolicy,
} from '../src/config/index.js';
import { isSecretPath } from '../src/config/mask.js';
import { DRIVER_MODULES, DRIVERS } from '../src/drivers/registry.js';
import { DEFAULT_DEVICE_POLICY, DEFAULT_SUPERVISOR_POLICY } from '../src/machines/policy.js';

describe('devicePolicy', () => {
  const config = parseConfig(
    `device_defaults:
  reconnect: { initial_ms: 1000, max_ms: 20000 }
  commands: { retry_delays_ms: [100] }
  timeouts: { read: 3000, write: 4000 }
devices:
  - { id: plain, driver: ble }
  - id: tuned
    driver: mbus
    port: /dev/ttyUSB0
    poll_interval_ms: 60000
    reconnect: { initial_ms: 500, jitter: 0 }
    health: { failure_threshold: 7 }
    commands: { queue_size: 5, retry_delays_ms: [] }
    timeouts: { connect: 2000, read: 9000, poll: 1500 }
`,
    {},
  );
  const [plain, tuned] = config.devices;
  if (plain === undefined || tuned === undefined) throw new Error('devices missing');

  it('gives a device without overrides the device_defaults, camelCased, and no polling', () => {
    expect(devicePolicy(config, plain)).toEqual({
      reconnect: { initialMs: 1000, factor: 2, maxMs: 20000, jitter: 0.2, maxAttempts: 5 },
      health: { failureThreshold: 3 },
      commands: { queueSize: 100, ttlMs: 60000, retryDelaysMs: [100] },
      timeouts: { connect: 10000, default: 5000, read: 3000, write: 4000 },
      pollIntervalMs: 0,
    });
  });

  it('merges device overrides over device_defaults key by key, timeouts included', () => {
    expect(devicePolicy(config, tuned)).toEqual({
      reconnect: { initialMs: 500, factor: 2, maxMs: 20000, jitter: 0, maxAttempts: 5 },
      health: { failureThreshold: 7 },
      commands: { queueSize: 5, ttlMs: 60000, retryDelaysMs: [] },
      timeouts: { connect: 2000, default: 5000, read: 9000, write: 4000, poll: 1500 },
      pollIntervalMs: 60000,
    });
  });

  it('equals DEFAULT_DEVICE_POLICY for an all-default config', () => {
    const defaults = parseConfig('devices: [{ id: a, driver: ble }]', {});
    const [device] = defaults.devices;
    if (device === undefined) throw new Error('device missing');
    expect(devicePolicy(defaults, device)).toEqual(DEFAULT_DEVICE_POLICY);
  });

  it('returns a policy that shares no arrays with the config', () => {
    const policy = devicePolicy(config, plain);
    policy.commands.retryDelaysMs.push(1);
    expect(config.device_defaults.commands.retry_delays_ms).toEqual([100]);
  });
});

describe('supervisorPolicy', () => {
  const config = parseConfig(
    `supervisor:
  strategy: rest_for_one
  max_restarts: 3
  restart_backoff: { min_ms: 2000 }
  buses:
    "mbus:/dev/ttyUSB0":
      max_restarts: 10
      period_ms: 5000
      restart_backoff: { max_ms: 90000 }
mbus:
  - { port: /dev/ttyUSB0 }
`,
    {},
  );

  it('gives the top-level supervisor policy for no bus or a bus without overrides', () => {
    const expected = {
      ...DEFAULT_SUPERVISOR_POLICY,
      strategy: 'rest_for_one',
      maxRestarts: 3,
      restartBackoff: { ...DEFAULT_SUPERVISOR_POLICY.restartBackoff, minMs: 2000 },
    };
    expect(supervisorPolicy(config, undefined)).toEqual(expected);
    expect(supervisorPolicy(config, 'ble:hci0')).toEqual(expected);
  });

  it('merges the per-bus override over the top level, restart_backoff key by key', () => {
    expect(supervisorPolicy(config, 'mbus:/dev/ttyUSB0')).toEqual({
      strategy: 'rest_for_one',
      maxRestarts: 10,
      periodMs: 5000,
      restartBackoff: { minMs: 2000, maxMs: 90000, resetAfterMs: 60000 },
      degradedAfterMs: DEFAULT_SUPERVISOR_POLICY.degradedAfterMs,
      ladderResetAfterMs: DEFAULT_SUPERVISOR_POLICY.ladderResetAfterMs,
    });
  });

  it('equals DEFAULT_SUPERVISOR_POLICY for an empty config', () => {
    expect(supervisorPolicy(parseConfig('', {}), undefined)).toEqual(DEFAULT_SUPERVISOR_POLICY);
  });
});

describe('deviceBus', () => {
  it('defaults per driver and transport, and honours an explicit bus', () => {
    const config = parseConfig(
      `devices:
  - { id: m1, driver: mbus, port: /dev/ttyUSB0 }
  - { id: m2, driver: mbus, port: /dev/ttyUSB0, address: 7 }
  - { id: m3, driver: mbus, transport: simulated }
  - { id: d1, driver: dali }
  - { id: d2, driver: dali, adapter_serial: "0042" }
  - { id: d3, driver: dali, transport: simulated }
  - { id: b1, driver: ble }
  - { id: b2, driver: ble, adapter: hci1, transport: simulated }
  - { id: x1, driver: ble, bus: shared }
`,
      {},
    );
    expect(config.devices.map(deviceBus)).toEqual([
      'mbus:/dev/ttyUSB0',
      'mbus:/dev/ttyUSB0',
      'mbus:simulated',
      'dali:default',
      'dali:0042',
      'dali:simulated',
      'ble:hci0',
      'ble:simulated',
      'shared',
    ]);
  });
});

describe('maskSecrets', () => {
  const config = parseConfig(
    `mqtt:
  server: mqtt://gateway:url-secret@broker:1883
  user: gateway
  password: \${MQTT_PASSWORD}
  embedded_users: [{ user: ha, password: ha-secret }]
http:
  token: http-secret
devices:
  - { id: t, driver: ble, bind_key: 00112233445566778899aabbccddeeff }
  - { id: u, driver: ble }
`,
    { MQTT_PASSWORD: 'env-secret' },
  );

  it('replaces every secret that is set with ***', () => {
    const masked = JSON.stringify(maskSecrets(config));
    for (const secret of [
      'url-secret',
      'env-secret',
      'ha-secret',
      'http-secret',
      '00112233445566778899aabbccddeeff',
    ]) {
      expect(masked).not.toContain(secret);
    }
    expect(maskSecrets(config)).toMatchObject({
      mqtt: {
        server: `mqtt://gateway:${MASK}@broker:1883`,
        user: 'gateway',
        password: MASK,
        embedded_users: [{ user: 'ha', password: MASK }],
      },
      http: { token: MASK },
      devices: [{ bind_key: MASK }, { id: 'u' }],
    });
  });

  it('leaves unset secrets unset and the original config untouched', () => {
    const masked = maskSecrets(config) as { devices: Record<string, unknown>[] };
    expect(masked.devices[1]).not.toHaveProperty('bind_key');
    expect(config.mqtt.password).toBe('env-secret');
    expect(config.http.token).toBe('http-secret');
    const empty = maskSecrets(parseConfig('', {})) as { mqtt: Record<string, unknown> };
    expect(empty.mqtt).not.toHaveProperty('password');
  });

  const driverSecrets = DRIVER_MODULES.flatMap((driver) =>
    (driver.config.secretKeys ?? []).map((key) => [driver.name, key] as const),
  );

  it('knows the secret device keys from the drivers', () => {
    expect(driverSecrets).toContainEqual(['ble', 'bind_key']);
  });

  it.each(driverSecrets)("masks %s devices' %s in the output and in error messages", (driver, key) => {
    const configured = parseConfig(`devices: [{ id: d, driver: ${driver}, transport: simulated }]`, {});
    const withSecret = structuredClone(configured);
    Reflect.set(withSecret.devices[0] ?? {}, key, 'driver-secret');
    expect(maskSecrets(withSecret)).toMatchObject({ devices: [{ [key]: MASK }] });
    expect(isSecretPath(['devices', 0, key])).toBe(true);
    // A value of the wrong type is described by its kind, never echoed.
    expect(() =>
      parseConfig(`devices: [{ id: d, driver: ${driver}, transport: simulated, ${key}: 987654321 }]`, {}),
    ).toThrow(/^(?![\s\S]*987654321)/);
  });

  it('masks the secret keys a driver module declares, with nothing else to change', () => {
    const driver = DRIVERS.simulated;
    const original = driver.config;
    const config = parseConfig('devices: [{ id: d, driver: simulated, name: kitchen }]', {});
    expect(maskSecrets(config)).toMatchObject({ devices: [{ name: 'kitchen' }] });
    Object.assign(driver, { config: { ...original, secretKeys: ['name'] } });
    try {
      expect(maskSecrets(config)).toMatchObject({ devices: [{ name: MASK }] });
      expect(isSecretPath(['devices', 0, 'name'])).toBe(true);
      expect(() => parseConfig('devices: [{ id: d, driver: simulated, name: 987654321 }]', {})).toThrow(
        /devices\[0\]\.name: expected a string, got a number/,
      );
    } finally {
      Object.assign(driver, { config: original });
    }
    expect(isSecretPath(['devices', 0, 'name'])).toBe(false);
  });

  it('keeps a server URL without credentials as it is', () => {
    const plain = parseConfig('mqtt: { server: "mqtt://broker:1883" }', {});
    expect(maskSecrets(plain)).toMatchObject({ mqtt: { server: 'mqtt://broker:1883' } });
  });
});
