import { describe, expect, it } from 'vitest';
import { problemsOf } from './helpers/config.js';
import { ConfigError, defaultConfig, parseConfig } from '../src/config/index.js';
import {
  DEFAULT_COMMANDS,
  DEFAULT_HEALTH,
  DEFAULT_RECONNECT,
  DEFAULT_SUPERVISOR_POLICY,
  DEFAULT_TIMEOUTS,
} from '../src/machines/policy.js';

describe('defaults', () => {
  it('an empty file, a comment-only file and {} all give the complete default config', () => {
    const expected = defaultConfig();
    expect(parseConfig('', {})).toEqual(expected);
    expect(parseConfig('# nothing here\n', {})).toEqual(expected);
    expect(parseConfig('{}', {})).toEqual(expected);
  });

  it('fills every section with the documented defaults', () => {
    const config = defaultConfig();
    expect(config.mqtt).toEqual({
      embedded_port: 1883,
      embedded_host: '127.0.0.1',
      embedded_users: [],
      base_topic: 'fieldbridge',
      client_id: 'fieldbridge',
      keepalive_s: 60,
      protocol_version: 4,
      reject_unauthorized: true,
    });
    expect(config.mqtt.server).toBeUndefined();
    expect(config.persistence).toEqual({
      path: './data/fieldbridge.db',
      synchronous: 'normal',
      retention_days: 30,
    });
    expect(config.logging).toEqual({
      level: 'info',
      namespaces: {},
      format: 'pretty',
      repeat_summary_ms: 300_000,
    });
    expect(config.health).toEqual({ interval_ms: 30_000, state_refresh_ms: 60_000 });
    expect(config.queue).toEqual({ max_messages: 1_000_000, max_bytes: 268_435_456, inflight: 100 });
    expect(config.homeassistant).toEqual({
      enabled: true,
      discovery_prefix: 'homeassistant',
      status_topic: 'homeassistant/status',
    });
    expect(config.http).toEqual({ enabled: true, host: '127.0.0.1', port: 8080 });
    expect(config.devices).toEqual([]);
  });

  it('takes supervisor and device defaults from src/machines/policy.ts', () => {
    const config = defaultConfig();
    expect(config.supervisor).toEqual({
      strategy: DEFAULT_SUPERVISOR_POLICY.strategy,
      max_restarts: DEFAULT_SUPERVISOR_POLICY.maxRestarts,
      period_ms: DEFAULT_SUPERVISOR_POLICY.periodMs,
      restart_backoff: {
        min_ms: DEFAULT_SUPERVISOR_POLICY.restartBackoff.minMs,
        max_ms: DEFAULT_SUPERVISOR_POLICY.restartBackoff.maxMs,
        reset_after_ms: DEFAULT_SUPERVISOR_POLICY.restartBackoff.resetAfterMs,
      },
      degraded_after_ms: DEFAULT_SUPERVISOR_POLICY.degradedAfterMs,
      ladder_reset_after_ms: DEFAULT_SUPERVISOR_POLICY.ladderResetAfterMs,
      buses: {},
    });
    expect(config.device_defaults).toEqual({
      reconnect: {
        initial_ms: DEFAULT_RECONNECT.initialMs,
        factor: DEFAULT_RECONNECT.factor,
        max_ms: DEFAULT_RECONNECT.maxMs,
        jitter: DEFAULT_RECONNECT.jitter,
        max_attempts: DEFAULT_RECONNECT.maxAttempts,
      },
      health: { failure_threshold: DEFAULT_HEALTH.failureThreshold },
      commands: {
        queue_size: DEFAULT_COMMANDS.queueSize,
        ttl_ms: DEFAULT_COMMANDS.ttlMs,
        retry_delays_ms: DEFAULT_COMMANDS.retryDelaysMs,
      },
      timeouts: { connect: DEFAULT_TIMEOUTS.connect, default: DEFAULT_TIMEOUTS.default },
    });
  });

  it('returns independent copies, so mutating one config cannot leak into the next', () => {
    const first = defaultConfig();
    first.device_defaults.commands.retry_delays_ms.push(99);
    first.logging.namespaces.x = 'debug';
    const second = defaultConfig();
    expect(second.device_defaults.commands.retry_delays_ms).toEqual([500, 1000, 1500]);
    expect(second.logging.namespaces).toEqual({});
  });

  it('treats a key without a value as left out', () => {
    const config = parseConfig('mqtt:\nlogging:\n  file:\n  namespaces:\ndevices:\n', {});
    expect(config).toEqual(defaultConfig());
  });

  it('keeps values that are given and fills in the rest of the section', () => {
    const config = parseConfig('mqtt:\n  server: mqtts://broker.example:8883\n  protocol_version: 5\n', {});
    expect(config.mqtt.server).toBe('mqtts://broker.example:8883');
    expect(config.mqtt.protocol_version).toBe(5);
    expect(config.mqtt.keepalive_s).toBe(60);
  });

  it('fills in the log file defaults when file: is a mapping', () => {
    const config = parseConfig('logging:\n  file: { max_files: 2 }\n', {});
    expect(config.logging.file).toEqual({ path: './data/fieldbridge.log', max_size_mb: 50, max_files: 2 });
  });

  it('accepts any operation name in timeouts', () => {
    const config = parseConfig('device_defaults:\n  timeouts: { read: 7000 }\n', {});
    expect(config.device_defaults.timeouts).toEqual({ connect: 10_000, default: 5_000, read: 7_000 });
  });
});

describe('mqtt', () => {
  it.each([
    ['http://broker', ' (got scheme "http")'],
    ['broker:1883', ' (got scheme "broker")'],
    ['localhost', ' (e.g. mqtt://localhost:1883)'],
    ['mqtt://', ' and name a host'],
  ])('rejects the server URL %s', (server, detail) => {
    expect(problemsOf(`mqtt:\n  server: "${server}"\n`)).toEqual([
      `mqtt.server: must be a URL starting with mqtt://, mqtts://, ws:// or wss://${detail}`,
    ]);
  });

  it('accepts mqtt, mqtts, ws and wss URLs', () => {
    for (const server of ['mqtt://h', 'mqtts://h:8883', 'ws://h/mqtt', 'wss://h:443/mqtt']) {
      expect(parseConfig(`mqtt: { server: "${server}" }`, {}).mqtt.server).toBe(server);
    }
  });

  it('never echoes a server URL, which may carry a password', () => {
    const [problem] = problemsOf('mqtt:\n  server: "http://user:hunter2@broker"\n');
    expect(problem).not.toContain('hunter2');
  });

  it.each([
    ['', 'mqtt.base_topic: must not be empty'],
    ['a/+/b', 'mqtt.base_topic: must not contain "+" (an MQTT wildcard cannot be part of a topic name)'],
    ['a/#', 'mqtt.base_topic: must not contain "#" (an MQTT wildcard cannot be part of a topic name)'],
    [
      '/fieldbridge',
      'mqtt.base_topic: must not start or end with "/" (that would create an empty topic level)',
    ],
    [
      'fieldbridge/',
      'mqtt.base_topic: must not start or end with "/" (that would create an empty topic level)',
    ],
  ])('rejects base_topic "%s"', (topic, problem) => {
    expect(problemsOf(`mqtt:\n  base_topic: "${topic}"\n`)).toEqual([problem]);
  });

  it('accepts a multi-level base_topic', () => {
    expect(parseConfig('mqtt: { base_topic: site/gateway1 }', {}).mqtt.base_topic).toBe('site/gateway1');
  });

  it('checks keepalive_s, protocol_version and reject_unauthorized', () => {
    expect(
      problemsOf('mqtt:\n  keepalive_s: 0\n  protocol_version: 3\n  reject_unauthorized: "no"\n'),
    ).toEqual([
      'mqtt.keepalive_s: must be >= 1 (got 0)',
      'mqtt.protocol_version: must be 4 or 5 (got 3)',
      'mqtt.reject_unauthorized: expected true or false, got the string "no"',
    ]);
    expect(problemsOf('mqtt:\n  keepalive_s: 65536\n')).toEqual([
      'mqtt.keepalive_s: must be <= 65535 (got 65536)',
    ]);
  });

  it('requires cert and key together', () => {
    expect(problemsOf('mqtt:\n  cert: client.pem\n')).toEqual(['mqtt.key: is required when cert is given']);
    expect(problemsOf('mqtt:\n  key: client.key\n')).toEqual(['mqtt.cert: is required when key is given']);
    const config = parseConfig('mqtt: { cert: client.pem, key: client.key, ca: ca.pem }', {});
    expect(config.mqtt).toMatchObject({ cert: 'client.pem', key: 'client.key', ca: 'ca.pem' });
  });

  it('describes a non-string password by its type only and says to quote it', () => {
    expect(problemsOf('mqtt:\n  password: 123456\n')).toEqual([
      'mqtt.password: expected a string, got a number (put it in quotes)',
    ]);
  });
});

describe('persistence, logging, health, http', () => {
  it('checks persistence', () => {
    expect(problemsOf('persistence:\n  path: ""\n  synchronous: fast\n  retention_days: 0\n')).toEqual([
      'persistence.path: must not be empty',
      'persistence.synchronous: must be normal or full (got the string "fast")',
      'persistence.retention_days: must be >= 1 (got 0)',
    ]);
  });

  it('checks logging levels, including per namespace, with a suggestion for near misses', () => {
    const yaml =
      'logging:\n  level: inof\n  format: xml\n  namespaces:\n    device.heat1: loud\n    supervisor: debug\n';
    expect(problemsOf(yaml)).toEqual([
      'logging.level: must be one of error, warn, info or debug (got the string "inof", did you mean "info"?)',
      'logging.namespaces["device.heat1"]: must be one of error, warn, info or debug (got the string "loud")',
      'logging.format: must be pretty or json (got the string "xml")',
    ]);
  });

  it('checks the log file and repeat_summary_ms', () => {
    expect(
      problemsOf('logging:\n  file: { max_size_mb: 0, max_files: 1.5 }\n  repeat_summary_ms: -1\n'),
    ).toEqual([
      'logging.file.max_size_mb: must be >= 1 (got 0)',
      'logging.file.max_files: expected a whole number, got 1.5',
      'logging.repeat_summary_ms: must be >= 1000 (got -1)',
    ]);
  });

  it('checks health and http', () => {
    expect(problemsOf('health:\n  interval_ms: soon\nhttp:\n  port: 0\n  enabled: 1\n  token: ""\n')).toEqual(
      [
        'health.interval_ms: expected a number, got the string "soon"',
        'http.enabled: expected true or false, got 1',
        'http.port: must be >= 1 (got 0)',
        'http.token: must not be empty (leave the key out to disable token authentication)',
      ],
    );
    expect(problemsOf('http:\n  port: 70000\n')).toEqual(['http.port: must be <= 65535 (got 70000)']);
  });
});

describe('supervisor', () => {
  it('checks the supervisor keys', () => {
    const yaml =
      'supervisor:\n  strategy: one_for_all\n  max_restarts: -1\n  period_ms: 1.5\n' +
      '  degraded_after_ms: -5\n  ladder_reset_after_ms: x\n';
    expect(problemsOf(yaml)).toEqual([
      'supervisor.strategy: must be one_for_one or rest_for_one (got the string "one_for_all")',
      'supervisor.max_restarts: must be >= 0 (got -1)',
      'supervisor.period_ms: expected a whole number, got 1.5',
      'supervisor.degraded_after_ms: must be >= 1000 (got -5)',
      'supervisor.ladder_reset_after_ms: expected a number, got the string "x"',
    ]);
  });

  it('requires restart_backoff.max_ms >= min_ms', () => {
    expect(problemsOf('supervisor:\n  restart_backoff: { min_ms: 5000, max_ms: 1000 }\n')).toEqual([
      'supervisor.restart_backoff.max_ms: must be >= min_ms',
    ]);
    expect(problemsOf('supervisor:\n  restart_backoff: { min_ms: 40000 }\n')).toEqual([
      'supervisor.restart_backoff.max_ms: must be >= min_ms',
    ]);
  });

  it('checks per-bus overrides, merged over the top-level restart_backoff', () => {
    const yaml =
      'supervisor:\n  buses:\n    "mbus:/dev/ttyUSB0":\n      max_restarts: -1\n' +
      '      restart_backoff: { min_ms: 60000 }\n    "ble:hci0":\n      buses: {}\n' +
      'mbus: [{ port: /dev/ttyUSB0 }]\nble: [{ adapter: hci0 }]\n';
    expect(problemsOf(yaml)).toEqual([
      'supervisor.buses["mbus:/dev/ttyUSB0"].max_restarts: must be >= 0 (got -1)',
      'supervisor.buses["ble:hci0"].buses: unknown key (expected one of: strategy, max_restarts, period_ms, ' +
        'restart_backoff, degraded_after_ms, ladder_reset_after_ms)',
      'supervisor.buses["mbus:/dev/ttyUSB0"].restart_backoff.max_ms: must be >= min_ms',
    ]);
  });
});

describe('device_defaults', () => {
  it('checks every reconnect rule', () => {
    const yaml =
      'device_defaults:\n  reconnect: { initial_ms: 0, factor: 0.5, jitter: 1, max_attempts: 0 }\n';
    expect(problemsOf(yaml)).toEqual([
      'device_defaults.reconnect.initial_ms: must be >= 50 (got 0)',
      'device_defaults.reconnect.factor: must be >= 1 (got 0.5)',
      'device_defaults.reconnect.jitter: must be < 1 (got 1)',
      'device_defaults.reconnect.max_attempts: must be >= 1 (got 0)',
    ]);
    expect(problemsOf('device_defaults:\n  reconnect: { jitter: -0.1 }\n')).toEqual([
      'device_defaults.reconnect.jitter: must be >= 0 (got -0.1)',
    ]);
  });

  it('requires reconnect.max_ms >= initial_ms', () => {
    expect(problemsOf('device_defaults:\n  reconnect: { initial_ms: 5000, max_ms: 1000 }\n')).toEqual([
      'device_defaults.reconnect.max_ms: must be >= initial_ms',
    ]);
    // the other bound comes from the default
    expect(problemsOf('device_defaults:\n  reconnect: { max_ms: 1000 }\n')).toEqual([
      'device_defaults.reconnect.max_ms: must be >= initial_ms',
    ]);
  });

  it('checks health, commands and timeouts', () => {
    const yaml =
      'device_defaults:\n  health: { failure_threshold: 0 }\n' +
      '  commands: { queue_size: 0, ttl_ms: 0, retry_delays_ms: [100, -1, 2.5] }\n' +
      '  timeouts: { connect: 0, read: -5, write: fast }\n';
    expect(problemsOf(yaml)).toEqual([
      'device_defaults.health.failure_threshold: must be >= 1 (got 0)',
      'device_defaults.commands.queue_size: must be >= 1 (got 0)',
      'device_defaults.commands.ttl_ms: must be >= 100 (got 0)',
      'device_defaults.commands.retry_delays_ms[1]: must be >= 0 (got -1)',
      'device_defaults.commands.retry_delays_ms[2]: expected a whole number, got 2.5',
      'device_defaults.timeouts.connect: must be >= 100 (got 0)',
      'device_defaults.timeouts.read: must be >= 100 (got -5)',
      'device_defaults.timeouts.write: expected a number, got the string "fast"',
    ]);
  });

  it('allows an empty retry list (no retries)', () => {
    const config = parseConfig('device_defaults:\n  commands: { retry_delays_ms: [] }\n', {});
    expect(config.device_defaults.commands.retry_delays_ms).toEqual([]);
  });

  it('rejects a list where a mapping belongs', () => {
    expect(problemsOf('device_defaults:\n  reconnect: [1, 2]\n')).toEqual([
      'device_defaults.reconnect: expected a mapping, got a list',
    ]);
  });
});

describe('unknown keys', () => {
  it('rejects an unknown top-level key with a suggestion', () => {
    expect(problemsOf('mqt:\n  server: mqtt://h\n')).toEqual(['mqt: unknown key (did you mean "mqtt"?)']);
    expect(problemsOf('device_default: {}\n')).toEqual([
      'device_default: unknown key (did you mean "device_defaults"?)',
    ]);
  });

  it('lists the known keys when nothing is close', () => {
    expect(problemsOf('health:\n  frequency: 5\n')).toEqual([
      'health.frequency: unknown key (expected one of: interval_ms, state_refresh_ms)',
    ]);
  });

  it('rejects unknown nested keys with a suggestion', () => {
    expect(problemsOf('mqtt:\n  servr: mqtt://h\n  keepalive: 30\n')).toEqual([
      'mqtt.servr: unknown key (did you mean "server"?)',
      'mqtt.keepalive: unknown key (did you mean "keepalive_s"?)',
    ]);
    expect(problemsOf('device_defaults:\n  reconnect: { max_ms: 100, intial_ms: 50 }\n')).toEqual([
      'device_defaults.reconnect.intial_ms: unknown key (did you mean "initial_ms"?)',
      'device_defaults.reconnect.max_ms: must be >= initial_ms',
    ]);
    expect(problemsOf('supervisor:\n  restart_backoff: { min: 1 }\n')).toEqual([
      'supervisor.restart_backoff.min: unknown key (did you mean "min_ms"?)',
    ]);
  });
});

describe('file structure', () => {
  it('reports YAML syntax errors with line and column', () => {
    let caught: unknown;
    try {
      parseConfig('mqtt:\n  server: [mqtt://h\nhttp: {}\n', {}, 'site.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const [first] = (caught as ConfigError).problems;
    expect(first?.path).toMatch(/^site\.yaml:\d+:\d+$/);
    expect(first?.message).toMatch(/\S/);
  });

  it('reports the position of a syntax error exactly', () => {
    expect(problemsOf('a: 1\nb: c: d\n')).toEqual([
      'config:2:4: Nested mappings are not allowed in compact mappings',
    ]);
    expect(problemsOf('mqtt:\n  server: a\n  server: b\n')[0]).toMatch(
      /^config:3:3: Map keys must be unique/,
    );
  });

  it('limits a cascade of syntax errors to the first few', () => {
    const problems = problemsOf(`devices: [ {\n${'  x: y,\n'.repeat(20)}`);
    expect(problems.length).toBeLessThanOrEqual(6);
  });

  it.each([
    ['- a\n- b\n', '(root): the file must be a mapping of sections (mqtt:, devices:, ...), got a list'],
    [
      'just text\n',
      '(root): the file must be a mapping of sections (mqtt:, devices:, ...), got a plain string',
    ],
    ['42\n', '(root): the file must be a mapping of sections (mqtt:, devices:, ...), got number 42'],
  ])('rejects a top level that is not a mapping: %j', (yaml, problem) => {
    expect(problemsOf(yaml)).toEqual([problem]);
  });

  it('rejects a section that is not a mapping', () => {
    expect(problemsOf('mqtt: mqtt://h\n')).toEqual(['mqtt: expected a mapping, got the string "mqtt://h"']);
  });

  it('supports YAML anchors and merge keys', () => {
    const yaml =
      'devices:\n  - &base { id: a, driver: dali, transport: simulated, restart: transient }\n' +
      '  - { <<: *base, id: b }\n';
    const config = parseConfig(yaml, {});
    expect(config.devices.map((device) => [device.id, device.restart])).toEqual([
      ['a', 'transient'],
      ['b', 'transient'],
    ]);
  });

  it('reports several independent problems at once', () => {
    const yaml =
      'mqtt:\n  keepalive_s: 0\n  servr: x\nhttp:\n  port: 0\ndevice_defaults:\n  commands: { queue_size: 0.5 }\n' +
      'devices:\n  - { id: a, driver: dali }\n  - { id: a, driver: mbsu }\n  - { id: "a/b", driver: ble, mac: nope }\n';
    expect(problemsOf(yaml)).toEqual([
      'mqtt.keepalive_s: must be >= 1 (got 0)',
      'mqtt.servr: unknown key (did you mean "server"?)',
      'http.port: must be >= 1 (got 0)',
      'device_defaults.commands.queue_size: expected a whole number, got 0.5',
      'devices[1].driver: unknown driver "mbsu" (expected mbus, dali, ble, dalicenter, renogy or simulated)',
      'devices[2].id: must not contain "/" (the id is used as one MQTT topic level, and "/" separates levels)',
      'devices[2].mac: must be a MAC address like AA:BB:CC:DD:EE:FF',
      'devices[1].id: duplicate id "a" (first used by devices[0])',
    ]);
  });

  it('ConfigError carries the problems and lists them in its message', () => {
    try {
      parseConfig('http: { port: 0 }\nhealth: { interval_ms: -1 }\n', {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const configError = error as ConfigError;
      expect(configError.problems).toEqual([
        { path: 'health.interval_ms', message: 'must be >= 100 (got -1)' },
        { path: 'http.port', message: 'must be >= 1 (got 0)' },
      ]);
      expect(configError.message).toContain('2 problems');
      expect(configError.message).toContain('http.port: must be >= 1 (got 0)');
    }
  });
});

describe('syntax errors and secrets', () => {
  it('does not quote the offending token, which may be a secret', () => {
    const problems = problemsOf('mqtt:\n  password: { "hunter2" oops\n');
    expect(problems.join('\n')).not.toContain('hunter2');
    expect(problems[0]).toMatch(/^config:\d+:\d+: /);
  });
});
