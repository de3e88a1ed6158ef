import { describe, expect, it } from 'vitest';
import { problemsOf } from './helpers/config.js';
import { type DeviceConfig, parseConfig } from '../src/config/index.js';

/** Problems of a config holding just these device lines (flow mappings, one per line). */
function deviceProblems(...devices: string[]): string[] {
  return problemsOf(`devices:\n${devices.map((device) => `  - ${device}\n`).join('')}`);
}

function parseDevice(device: string): DeviceConfig {
  const [parsed] = parseConfig(`devices:\n  - ${device}\n`, {}).devices;
  if (parsed === undefined) throw new Error('no device parsed');
  return parsed;
}

describe('device defaults per driver', () => {
  it('mbus: serial transport, 2400 baud, bus from the port', () => {
    expect(parseDevice('{ id: heat1, driver: mbus, port: /dev/ttyUSB0 }')).toEqual({
      id: 'heat1',
      driver: 'mbus',
      transport: 'serial',
      port: '/dev/ttyUSB0',
      baud: 2400,
      enabled: true,
      restart: 'permanent',
      poll_interval_ms: 15_000,
      offline_after_ms: 90_000,
      bus: 'mbus:/dev/ttyUSB0',
    });
  });

  it('dali: hid transport, bus from the adapter serial or "default"', () => {
    expect(parseDevice('{ id: lamp, driver: dali }')).toEqual({
      id: 'lamp',
      driver: 'dali',
      transport: 'hid',
      enabled: true,
      restart: 'permanent',
      poll_interval_ms: 60_000,
      bus: 'dali:default',
    });
    expect(parseDevice('{ id: lamp, driver: dali, adapter_serial: A1B2 }').bus).toBe('dali:A1B2');
  });

  it('ble: bluez transport on hci0, bus from the adapter', () => {
    expect(parseDevice('{ id: thermo, driver: ble }')).toEqual({
      id: 'thermo',
      driver: 'ble',
      transport: 'bluez',
      adapter: 'hci0',
      enabled: true,
      restart: 'permanent',
      bus: 'ble:hci0',
    });
    expect(parseDevice('{ id: thermo, driver: ble, adapter: hci1 }').bus).toBe('ble:hci1');
  });

  it('simulated devices share <driver>:simulated and get the complete simulation block', () => {
    for (const driver of ['mbus', 'dali', 'ble']) {
      const device = parseDevice(`{ id: sim, driver: ${driver}, transport: simulated }`);
      expect(device.bus).toBe(`${driver}:simulated`);
      expect(device.simulation).toEqual({
        connect_delay_ms: 50,
        failure_rate: 0,
        hang_rate: 0,
        disconnect_every_ms: 0,
        operation_delay_ms: 5,
      });
    }
    const tuned = parseDevice(
      '{ id: sim, driver: dali, transport: simulated, simulation: { failure_rate: 0.5 } }',
    );
    expect(tuned.simulation).toMatchObject({ failure_rate: 0.5, connect_delay_ms: 50 });
  });

  it('an explicit bus wins over the default', () => {
    expect(parseDevice('{ id: m, driver: mbus, port: /dev/ttyUSB0, bus: basement }').bus).toBe('basement');
  });

  it('keeps optional keys and per-device overrides as written', () => {
    const device = parseDevice(
      '{ id: m, name: Meter, driver: mbus, transport: simulated, address: "12345678A5B40C07", ' +
        'enabled: false, restart: temporary, poll_interval_ms: 0, reconnect: { max_attempts: 9 }, ' +
        'health: { failure_threshold: 2 }, commands: { retry_delays_ms: [] }, timeouts: { read: 100 } }',
    );
    expect(device).toMatchObject({
      name: 'Meter',
      address: '12345678A5B40C07',
      enabled: false,
      restart: 'temporary',
      poll_interval_ms: 0,
      reconnect: { max_attempts: 9 },
      health: { failure_threshold: 2 },
      commands: { retry_delays_ms: [] },
      timeouts: { read: 100 },
    });
    expect(device.reconnect).toEqual({ max_attempts: 9 });
  });

  it('normalises a MAC address to upper case', () => {
    const device = parseDevice('{ id: t, driver: ble, mac: "a4:c1:38:0a:bb:cc" }');
    expect(device.driver === 'ble' && device.mac).toBe('A4:C1:38:0A:BB:CC');
  });

  it('accepts the documented M-Bus addresses and baud rates', () => {
    for (const address of ['0', '250', '"0011223344556677"', '"aabbccddeeff0011"']) {
      expect(() => parseDevice(`{ id: m, driver: mbus, port: p, address: ${address} }`)).not.toThrow();
    }
    for (const baud of [300, 600, 1200, 2400, 4800, 9600, 19200, 38400]) {
      expect(() => parseDevice(`{ id: m, driver: mbus, port: p, baud: ${baud} }`)).not.toThrow();
    }
  });
});

describe('device ids', () => {
  const whyLevel = 'the id is used as one MQTT topic level';

  it.each([
    ['a/b', `must not contain "/" (${whyLevel}, and "/" separates levels)`],
    ['a+b', `must not contain "+" (it is an MQTT wildcard and ${whyLevel})`],
    ['a#b', `must not contain "#" (it is an MQTT wildcard and ${whyLevel})`],
    ['a b', `must not contain whitespace or control characters (${whyLevel})`],
    ['a\\tb', `must not contain whitespace or control characters (${whyLevel})`],
    ['a\\u0007b', `must not contain whitespace or control characters (${whyLevel})`],
    ['$SYS', 'must not start with "$" (MQTT reserves topics starting with "$" for the broker)'],
    ['bridge', '"bridge" is reserved: the gateway\'s own topics live at <base_topic>/bridge'],
    ['', 'must not be empty'],
    ['x'.repeat(65), `is 65 characters long, at most 64 are allowed (${whyLevel})`],
  ])('rejects id "%s"', (id, message) => {
    expect(deviceProblems(`{ id: "${id}", driver: dali }`)).toEqual([`devices[0].id: ${message}`]);
  });

  it('accepts ids that are safe topic levels, up to 64 characters', () => {
    for (const id of ['heat1', 'Living-Room_2', 'a$b', 'bridge2', 'x'.repeat(64), 'wärme']) {
      expect(parseDevice(`{ id: "${id}", driver: dali }`).id).toBe(id);
    }
  });

  it('reports every reason an id is unusable', () => {
    expect(deviceProblems('{ id: "$a/#", driver: dali }')).toEqual([
      `devices[0].id: must not contain "/" (${whyLevel}, and "/" separates levels)`,
      `devices[0].id: must not contain "#" (it is an MQTT wildcard and ${whyLevel})`,
      'devices[0].id: must not start with "$" (MQTT reserves topics starting with "$" for the broker)',
    ]);
  });

  it('requires an id', () => {
    expect(deviceProblems('{ driver: dali }')).toEqual(['devices[0].id: is required']);
  });

  it('rejects duplicate ids, naming the first use', () => {
    expect(
      deviceProblems(
        '{ id: heat1, driver: dali }',
        '{ id: other, driver: dali }',
        '{ id: x, driver: dali }',
        '{ id: heat1, driver: ble }',
        '{ id: other, driver: dali }',
      ),
    ).toEqual([
      'devices[3].id: duplicate id "heat1" (first used by devices[0])',
      'devices[4].id: duplicate id "other" (first used by devices[1])',
    ]);
  });
});

describe('device validation', () => {
  it('rejects an unknown driver, naming the valid ones', () => {
    expect(deviceProblems('{ id: a, driver: mbsu }')).toEqual([
      'devices[0].driver: unknown driver "mbsu" (expected mbus, dali, ble, dalicenter, renogy or simulated)',
    ]);
    expect(deviceProblems('{ id: a }')).toEqual([
      'devices[0].driver: is required (expected mbus, dali, ble, dalicenter, renogy or simulated)',
    ]);
  });

  it('rejects a device that is not a mapping', () => {
    expect(deviceProblems('heat1')).toEqual(['devices[0]: expected a mapping, got the string "heat1"']);
    expect(problemsOf('devices: { id: a }\n')).toEqual(['devices: expected a list, got a mapping']);
  });

  it('requires a port for serial M-Bus', () => {
    expect(deviceProblems('{ id: m, driver: mbus }')).toEqual([
      'devices[0].port: is required with transport: serial (e.g. /dev/ttyUSB0)',
    ]);
    expect(deviceProblems('{ id: m, driver: mbus, transport: serial }')).toEqual([
      'devices[0].port: is required with transport: serial (e.g. /dev/ttyUSB0)',
    ]);
  });

  it('rejects a transport the driver does not have', () => {
    expect(deviceProblems('{ id: m, driver: ble, transport: serial }')).toEqual([
      'devices[0].transport: must be bluez or simulated (got the string "serial")',
    ]);
  });

  it('checks M-Bus baud rate and address', () => {
    const addressMessage =
      'must be a primary address 0..250 or a secondary address of 16 hexadecimal digits written as a quoted string';
    expect(deviceProblems('{ id: m, driver: mbus, port: p, baud: 2401, address: 251 }')).toEqual([
      'devices[0].baud: must be one of 300, 600, 1200, 2400, 4800, 9600, 19200 or 38400 (got 2401)',
      `devices[0].address: ${addressMessage} (got 251)`,
    ]);
    expect(deviceProblems('{ id: m, driver: mbus, port: p, address: "12345" }')).toEqual([
      `devices[0].address: ${addressMessage} (got "12345")`,
    ]);
    // an unquoted all-digit secondary address is read as a number by YAML
    expect(deviceProblems('{ id: m, driver: mbus, port: p, address: 1234567812345678 }')).toEqual([
      `devices[0].address: ${addressMessage} (got 1234567812345678)`,
    ]);
    expect(deviceProblems('{ id: m, driver: mbus, port: p, address: true }')).toEqual([
      `devices[0].address: ${addressMessage}`,
    ]);
  });

  it('checks the DALI address', () => {
    expect(deviceProblems('{ id: d, driver: dali, address: 64 }')).toEqual([
      'devices[0].address: must be <= 63 (got 64)',
    ]);
    expect(deviceProblems('{ id: d, driver: dali, address: -1 }')).toEqual([
      'devices[0].address: must be >= 0 (got -1)',
    ]);
  });

  it('takes a Renogy Smart Shunt, refusing a Modbus id for it (it speaks no Modbus)', () => {
    const shunt = "{ id: s, driver: renogy, mac: 'C4:D3:6A:00:00:01', family: shunt";
    expect(parseDevice(`${shunt} }`)).toMatchObject({ family: 'shunt', bus: 'renogy:hci0' });
    expect(deviceProblems(`${shunt}, device_id: 1 }`)).toEqual([
      'devices[0].device_id: a Smart Shunt speaks no Modbus: it has no device_id (remove it)',
    ]);
    expect(deviceProblems("{ id: s, driver: renogy, mac: 'C4:D3:6A:00:00:01', family: shnut }")[0]).toMatch(
      /devices\[0\]\.family: .*shunt/,
    );
  });

  it.each(['AA:BB:CC:DD:EE', 'AA-BB-CC-DD-EE-FF', 'GG:BB:CC:DD:EE:FF', 'AABBCCDDEEFF'])(
    'rejects MAC %s',
    (mac) => {
      expect(deviceProblems(`{ id: t, driver: ble, mac: "${mac}" }`)).toEqual([
        'devices[0].mac: must be a MAC address like AA:BB:CC:DD:EE:FF',
      ]);
    },
  );

  it('rejects a bind key that is not 32 hex digits, without echoing it', () => {
    const problems = deviceProblems('{ id: t, driver: ble, bind_key: "00112233445566778899aabbccddeeZZ" }');
    expect(problems).toEqual([
      'devices[0].bind_key: must be exactly 32 hexadecimal digits (the 16-byte encryption key)',
    ]);
    expect(deviceProblems('{ id: t, driver: ble, bind_key: 12345678901234567890 }')).toEqual([
      'devices[0].bind_key: expected a string, got a number (put it in quotes)',
    ]);
  });

  it('rejects simulation settings on a real transport', () => {
    expect(deviceProblems('{ id: t, driver: ble, simulation: { failure_rate: 0.1 } }')).toEqual([
      'devices[0].simulation: is only used with transport: simulated (this device uses transport: bluez)',
    ]);
    expect(deviceProblems('{ id: m, driver: mbus, port: p, transport: serial, simulation: {} }')).toEqual([
      'devices[0].simulation: is only used with transport: simulated (this device uses transport: serial)',
    ]);
  });

  it('checks the simulation settings', () => {
    expect(
      deviceProblems(
        '{ id: s, driver: dali, transport: simulated, simulation: { failure_rate: 1.5, hang_rate: -0.1, ' +
          'disconnect_every_ms: -1, operation_delay_ms: 0.5, failure_rat: 0 } }',
      ),
    ).toEqual([
      'devices[0].simulation.failure_rate: must be <= 1 (got 1.5)',
      'devices[0].simulation.hang_rate: must be >= 0 (got -0.1)',
      'devices[0].simulation.disconnect_every_ms: must be 0 (off) or >= 100 (got -1)',
      'devices[0].simulation.operation_delay_ms: expected a whole number, got 0.5',
      'devices[0].simulation.failure_rat: unknown key (did you mean "failure_rate"?)',
    ]);
  });

  it('checks the common keys', () => {
    expect(
      deviceProblems(
        '{ id: d, driver: dali, enabled: yes, restart: always, poll_interval_ms: -1, bus: "", name: "" }',
      ),
    ).toEqual([
      'devices[0].name: must not be empty',
      'devices[0].bus: must not be empty',
      'devices[0].enabled: expected true or false, got the string "yes"',
      'devices[0].restart: must be one of permanent, transient or temporary (got the string "always")',
      'devices[0].poll_interval_ms: must be 0 (off) or >= 50 (got -1)',
    ]);
  });

  it('rejects unknown keys inside a device with a suggestion', () => {
    expect(deviceProblems('{ id: m, driver: mbus, port: p, adress: 5, bauds: 9600, speed: 1 }')).toEqual([
      'devices[0].adress: unknown key (did you mean "address"?)',
      'devices[0].bauds: unknown key (did you mean "baud"?)',
      'devices[0].speed: unknown key (expected one of: id, name, driver, transport, port, baud, address, bus, ' +
        'enabled, restart, poll_interval_ms, simulation, reconnect, health, commands, timeouts, offline_after_ms)',
    ]);
  });

  it('rejects unknown keys inside device overrides', () => {
    expect(
      deviceProblems('{ id: d, driver: dali, reconnect: { max_attempt: 3 }, health: { threshold: 1 } }'),
    ).toEqual([
      'devices[0].reconnect.max_attempt: unknown key (did you mean "max_attempts"?)',
      'devices[0].health.threshold: unknown key (expected one of: failure_threshold)',
    ]);
  });

  it('checks device overrides with the same rules as device_defaults', () => {
    expect(
      deviceProblems(
        '{ id: d, driver: dali, reconnect: { factor: 0 }, commands: { queue_size: 0 }, timeouts: { read: 0 } }',
      ),
    ).toEqual([
      'devices[0].reconnect.factor: must be >= 1 (got 0)',
      'devices[0].commands.queue_size: must be >= 1 (got 0)',
      'devices[0].timeouts.read: must be >= 100 (got 0)',
    ]);
  });

  it('checks max_ms >= initial_ms on the device override merged over device_defaults', () => {
    expect(
      deviceProblems('{ id: a, driver: dali }', '{ id: b, driver: dali, reconnect: { max_ms: 1000 } }'),
    ).toEqual(['devices[1].reconnect.max_ms: must be >= initial_ms']);
    expect(
      problemsOf(
        'device_defaults:\n  reconnect: { max_ms: 10000 }\n' +
          'devices:\n  - { id: a, driver: dali }\n  - { id: b, driver: dali, reconnect: { initial_ms: 20000 } }\n',
      ),
    ).toEqual(['devices[1].reconnect.max_ms: must be >= initial_ms']);
    // valid when merged: the override raises both
    expect(() =>
      parseDevice('{ id: b, driver: dali, reconnect: { initial_ms: 40000, max_ms: 50000 } }'),
    ).not.toThrow();
  });

  it('reports a bad device_defaults bound once, not again for every device', () => {
    expect(
      problemsOf(
        'device_defaults:\n  reconnect: { initial_ms: 5000, max_ms: 1000 }\n' +
          'devices:\n  - { id: a, driver: dali }\n  - { id: b, driver: dali, reconnect: { max_attempts: 2 } }\n',
      ),
    ).toEqual(['device_defaults.reconnect.max_ms: must be >= initial_ms']);
  });

  it('reports problems in several devices together with a duplicate id', () => {
    expect(
      deviceProblems(
        '{ id: a, driver: mbus }',
        '{ id: a, driver: ble, mac: x, reconnect: { max_ms: 500 } }',
        '{ id: c, driver: dali, typo: 1 }',
      ),
    ).toEqual([
      'devices[0].port: is required with transport: serial (e.g. /dev/ttyUSB0)',
      'devices[1].mac: must be a MAC address like AA:BB:CC:DD:EE:FF',
      'devices[2].typo: unknown key (expected one of: id, name, driver, transport, adapter_serial, address, group, role, bus, ' +
        'enabled, restart, poll_interval_ms, simulation, reconnect, health, commands, timeouts)',
      'devices[1].id: duplicate id "a" (first used by devices[0])',
      'devices[1].reconnect.max_ms: must be >= initial_ms',
    ]);
  });
});

describe('buses', () => {
  it('refuses devices of different drivers or transports on one bus', () => {
    const yaml = [
      'devices:',
      '  - { id: a, driver: mbus, transport: simulated, bus: shared }',
      '  - { id: b, driver: dali, transport: simulated, bus: shared }',
      '  - { id: c, driver: mbus, port: /dev/ttyUSB0, bus: shared }',
      '  - { id: d, driver: mbus, transport: simulated, bus: shared }',
    ].join('\n');
    expect(problemsOf(yaml)).toEqual([
      'devices[1].bus: bus "shared" already runs mbus/simulated (devices[0]); one bus cannot mix it with dali/simulated',
      'devices[2].bus: bus "shared" already runs mbus/simulated (devices[0]); one bus cannot mix it with mbus/serial',
    ]);
  });
});

describe('the simulated driver', () => {
  it('needs only an id, polls every second and runs on the "simulated" bus', () => {
    const config = parseConfig('devices:\n  - { id: demo1, driver: simulated }\n', {});
    expect(config.devices[0]).toMatchObject({
      id: 'demo1',
      driver: 'simulated',
      transport: 'simulated',
      poll_interval_ms: 1_000,
      bus: 'simulated',
    });
  });

  it('has no other transport', () => {
    expect(problemsOf('devices:\n  - { id: demo1, driver: simulated, transport: serial }\n')).toEqual([
      'devices[0].transport: must be simulated (got the string "serial")',
    ]);
  });
});
