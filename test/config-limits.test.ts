import { describe, expect, it } from 'vitest';
import { problemsOf } from './helpers/config.js';
import { parseConfig } from '../src/config/index.js';
import { withDiscovered } from '../src/gateway/discovered.js';
import type { DiscoveredDevice } from '../src/persistence/index.js';

// Values that parse but make no sense: intervals of 0 that turn a timer into a busy loop
// (`health.interval_ms: 0` published thousands of health messages a second), overrides for buses that
// do not exist, one serial port at two speeds, two servers on one port, ids that collide where case
// does not count. Each is refused with a `path: message` line naming the key.

/** A YAML document setting `path` (dotted, `[i]` for a list entry) to `value`, plus `extra` lines. */
function yamlSetting(path: string, value: number, extra = ''): string {
  const [section, ...rest] = path.split('.');
  return `${section}: ${rest.reduceRight((inner, key) => `{ ${key}: ${inner} }`, String(value))}\n${extra}`;
}

const DEVICE = 'devices:\n  - { id: d, driver: simulated, KEY: VALUE }\n';
const MBUS_DEVICE = 'devices:\n  - { id: m, driver: mbus, port: /dev/ttyUSB0, KEY: VALUE }\n';
const BLE_SENSOR = 'devices:\n  - { id: t, driver: ble, mac: "AA:BB:CC:DD:EE:FF", KEY: VALUE }\n';

describe('every interval, period, delay and timeout has a floor', () => {
  // [key as written, its floor]: the floor itself is accepted, anything below (0 included) is refused.
  const floors: [string, number][] = [
    ['health.interval_ms', 100],
    ['health.state_refresh_ms', 1_000],
    ['logging.repeat_summary_ms', 1_000],
    ['supervisor.period_ms', 1_000],
    ['supervisor.restart_backoff.min_ms', 100],
    ['supervisor.restart_backoff.reset_after_ms', 1_000],
    ['supervisor.degraded_after_ms', 1_000],
    ['supervisor.ladder_reset_after_ms', 100],
    ['device_defaults.reconnect.initial_ms', 50],
    ['device_defaults.commands.ttl_ms', 100],
    ['device_defaults.timeouts.connect', 100],
    ['device_defaults.timeouts.default', 100],
    ['device_defaults.timeouts.read', 100],
  ];
  for (const [key, floor] of floors) {
    it(`${key}: 0 and ${floor - 1} are refused, ${floor} is accepted`, () => {
      for (const tooSmall of [0, floor - 1]) {
        expect(problemsOf(yamlSetting(key, tooSmall))).toEqual([
          `${key}: must be >= ${floor} (got ${tooSmall})`,
        ]);
      }
      expect(() => parseConfig(yamlSetting(key, floor), {})).not.toThrow();
    });
  }

  it('the restart backoff cap and the reconnect cap have the same floor as what they cap', () => {
    expect(problemsOf(yamlSetting('supervisor.restart_backoff.max_ms', 0))).toContain(
      'supervisor.restart_backoff.max_ms: must be >= 100 (got 0)',
    );
    expect(problemsOf(yamlSetting('device_defaults.reconnect.max_ms', 0))).toContain(
      'device_defaults.reconnect.max_ms: must be >= 50 (got 0)',
    );
  });

  it('the BLE watchdog cannot look, give up or verify in a tight loop', () => {
    const yaml =
      'ble:\n  - { adapter: hci0, watchdog: { interval_ms: 0, stuck_after_ms: 10, verify_after_ms: 1 } }\n';
    expect(problemsOf(yaml)).toEqual([
      'ble[0].watchdog.interval_ms: must be >= 100 (got 0)',
      'ble[0].watchdog.stuck_after_ms: must be >= 1000 (got 10)',
      'ble[0].watchdog.verify_after_ms: must be >= 100 (got 1)',
    ]);
  });

  // Periods that 0 switches off: 0 stays allowed, a tiny value does not.
  const offOrFloor: [string, string, number][] = [
    ['a device poll', DEVICE.replace('KEY', 'poll_interval_ms'), 50],
    ['an M-Bus meter poll', MBUS_DEVICE.replace('KEY', 'poll_interval_ms'), 50],
    ['an M-Bus meter going offline', MBUS_DEVICE.replace('KEY', 'offline_after_ms'), 1_000],
    ['a BLE sensor going offline', BLE_SENSOR.replace('KEY', 'offline_after_ms'), 1_000],
    [
      'a simulated link loss',
      DEVICE.replace('KEY: VALUE', 'simulation: { disconnect_every_ms: VALUE }'),
      100,
    ],
    ['an M-Bus line poll', 'mbus:\n  - { port: /dev/ttyUSB0, poll_interval_ms: VALUE }\n', 50],
    ['a DALI line self-test', 'dali:\n  - { self_test_interval_ms: VALUE }\n', 50],
    ['a BLE line going offline', 'ble:\n  - { adapter: hci0, offline_after_ms: VALUE }\n', 1_000],
  ];
  for (const [what, template, floor] of offOrFloor) {
    it(`${what}: 0 (off) and ${floor} are accepted, 1 is refused`, () => {
      expect(() => parseConfig(template.replace('VALUE', '0'), {})).not.toThrow();
      expect(() => parseConfig(template.replace('VALUE', String(floor)), {})).not.toThrow();
      const problems = problemsOf(template.replace('VALUE', '1'));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`: must be 0 \\(off\\) or >= ${floor} \\(got 1\\)$`));
    });
  }
});

describe('supervisor.buses names buses that exist', () => {
  it('refuses an override for a bus nothing runs on, suggesting the near miss', () => {
    const yaml =
      'supervisor:\n  buses:\n    "mbus:/dev/ttyUSB1": { max_restarts: 3 }\n    "dali:nope": {}\n' +
      'mbus:\n  - { port: /dev/ttyUSB0 }\n' +
      'devices:\n  - { id: s, driver: simulated }\n';
    expect(problemsOf(yaml)).toEqual([
      'supervisor.buses["mbus:/dev/ttyUSB1"]: no device or line runs on this bus (did you mean "mbus:/dev/ttyUSB0"?)',
      'supervisor.buses["dali:nope"]: no device or line runs on this bus (the buses are: mbus:/dev/ttyUSB0, simulated)',
    ]);
  });

  it('refuses any override when nothing is configured', () => {
    expect(problemsOf('supervisor:\n  buses:\n    "ble:hci0": {}\n')).toEqual([
      'supervisor.buses["ble:hci0"]: no device or line runs on this bus (none is configured)',
    ]);
  });

  it('accepts the buses of devices (default and explicit) and of M-Bus, DALI and BLE lines', () => {
    const yaml = [
      'supervisor:',
      '  buses:',
      '    "mbus:/dev/ttyUSB0": { max_restarts: 1 }',
      '    "dali:default": { max_restarts: 1 }',
      '    "dali:simulated": { max_restarts: 1 }',
      '    "ble:hci1": { max_restarts: 1 }',
      '    "ble:simulated": { max_restarts: 1 }',
      '    kitchen: { max_restarts: 1 }',
      '    "mbus:/dev/ttyUSB9": { max_restarts: 1 }',
      'mbus: [{ port: /dev/ttyUSB0 }]',
      'dali: [{}, { transport: simulated }]',
      'ble: [{ adapter: hci1 }, { transport: simulated }]',
      'devices:',
      '  - { id: a, driver: simulated, bus: kitchen }',
      '  - { id: b, driver: mbus, port: /dev/ttyUSB9 }',
      '',
    ].join('\n');
    expect(Object.keys(parseConfig(yaml, {}).supervisor.buses)).toHaveLength(7);
  });
});

describe('one serial port, one baud rate', () => {
  it('refuses an M-Bus meter at another speed than the line on its port', () => {
    const yaml =
      'mbus:\n  - { port: /dev/ttyUSB0, baud: 9600 }\n' +
      'devices:\n  - { id: m, driver: mbus, port: /dev/ttyUSB0, address: 3 }\n';
    expect(problemsOf(yaml)).toEqual([
      'devices[0].baud: port /dev/ttyUSB0 already runs at 9600 Bd (mbus[0]); one port has one baud rate',
    ]);
  });

  it('refuses two meters on one port at two speeds, and two lines on one port', () => {
    const yaml =
      'mbus:\n  - { port: /dev/ttyUSB1 }\n  - { port: /dev/ttyUSB1, baud: 300 }\n' +
      'devices:\n' +
      '  - { id: a, driver: mbus, port: /dev/ttyUSB0, baud: 2400, address: 1 }\n' +
      '  - { id: b, driver: mbus, port: /dev/ttyUSB0, baud: 38400, address: 2 }\n';
    expect(problemsOf(yaml)).toEqual([
      'mbus[1].baud: port /dev/ttyUSB1 already runs at 2400 Bd (mbus[0]); one port has one baud rate',
      'devices[1].baud: port /dev/ttyUSB0 already runs at 2400 Bd (devices[0]); one port has one baud rate',
    ]);
  });

  it('runs a meter a scan found at the baud rate its line has now', () => {
    const config = parseConfig('mbus:\n  - { port: /dev/ttyUSB0, baud: 9600 }\n', {});
    const found: DiscoveredDevice = {
      id: 'mbus_12345678',
      // Found while the line still ran at 2400 Bd.
      config: { id: 'mbus_12345678', driver: 'mbus', port: '/dev/ttyUSB0', baud: 2400, address: 5 },
      foundAt: 0,
    };
    expect(withDiscovered(config, [found]).config.devices).toEqual([
      expect.objectContaining({ id: 'mbus_12345678', baud: 9600 }),
    ]);
  });

  it('accepts meters sharing a port at one speed, and simulated meters with no port', () => {
    const yaml =
      'mbus:\n  - { port: /dev/ttyUSB0, baud: 9600 }\n' +
      'devices:\n' +
      '  - { id: a, driver: mbus, port: /dev/ttyUSB0, baud: 9600, address: 1 }\n' +
      '  - { id: b, driver: mbus, port: /dev/ttyUSB1, address: 2 }\n' +
      '  - { id: c, driver: mbus, transport: simulated, baud: 300 }\n';
    expect(parseConfig(yaml, {}).devices).toHaveLength(3);
  });
});

describe('http.port and the embedded broker', () => {
  it('refuses the embedded broker’s port for the HTTP server', () => {
    expect(problemsOf('http: { port: 1883 }\n')).toEqual([
      "http.port: 1883 is also the embedded MQTT broker's port (mqtt.embedded_port); use another port for one of them",
    ]);
    expect(problemsOf('mqtt: { embedded_port: 8080 }\n')).toEqual([
      "http.port: 8080 is also the embedded MQTT broker's port (mqtt.embedded_port); use another port for one of them",
    ]);
  });

  it('accepts the same number when there is no embedded broker or no HTTP server', () => {
    expect(() =>
      parseConfig('mqtt: { server: "mqtt://broker:1883" }\nhttp: { port: 1883 }\n', {}),
    ).not.toThrow();
    expect(() => parseConfig('http: { port: 1883, enabled: false }\n', {})).not.toThrow();
  });
});

describe('device ids are unique regardless of case', () => {
  it('leaves out a found device whose id a configured one has in another case', () => {
    const config = parseConfig('devices:\n  - { id: MBUS_12345678, driver: simulated }\n', {});
    const found: DiscoveredDevice = {
      id: 'mbus_12345678',
      config: { id: 'mbus_12345678', driver: 'mbus', port: '/dev/ttyUSB0', address: 5 },
      foundAt: 0,
    };
    const effective = withDiscovered(config, [found]);
    expect(effective.config.devices.map((device) => device.id)).toEqual(['MBUS_12345678']);
    expect(effective.skipped).toEqual(['mbus_12345678: the id is taken by a configured device']);
  });

  it('refuses ids that differ only in case, naming the first', () => {
    const yaml =
      'devices:\n  - { id: heat1, driver: simulated }\n  - { id: water, driver: simulated }\n' +
      '  - { id: Heat1, driver: simulated }\n';
    expect(problemsOf(yaml)).toEqual([
      'devices[2].id: "Heat1" differs from "heat1" (devices[0]) only in case; their MQTT topics and Home ' +
        'Assistant unique ids would collide where case does not count: choose another id',
    ]);
  });
});
