import { describe, expect, it } from 'vitest';
import { deviceDiscovery } from '../src/bridge/discovery.js';
import { Topics } from '../src/bridge/topics.js';
import { type DeviceConfig, parseConfig } from '../src/config/index.js';
import { SimulatedBusRuntime } from '../src/drivers/shared/simulatedRuntime.js';
import { entitiesOf as deviceEntities, invalidCommand } from '../src/drivers/registry.js';
import {
  ACCESS,
  binary,
  commandSchema,
  entitiesOf,
  light,
  lightSet,
  numeric,
  readOnDemand,
  stateFieldsOf,
  text,
} from '../src/drivers/shared/capabilities.js';
import { withDiscovered } from '../src/gateway/discovered.js';
import { systemClock } from '../src/machines/clock.js';

// One declaration of what a device can do, from which both its Home Assistant entities and the
// schemas of its `set`/`get` derive.

/** Why a command is refused by the schema derived from these capabilities (undefined: accepted). */
function refusal(schema: ReturnType<typeof commandSchema>, args: unknown): string | undefined {
  if (!schema) return 'no such command';
  const result = schema.safeParse(args);
  return result.success ? undefined : result.error.issues.map((issue) => issue.message).join('; ');
}

describe('capability → entity', () => {
  it('makes a sensor of a numeric or text value and a binary sensor of a binary one, with their classes', () => {
    expect(
      entitiesOf([
        numeric('temperature', { deviceClass: 'temperature', unit: '°C', stateClass: 'measurement' }),
        binary('connected', { objectId: 'connectivity', name: 'Connectivity', category: 'diagnostic' }),
        text('firmware_version'),
      ]),
    ).toEqual([
      {
        component: 'sensor',
        objectId: 'temperature',
        name: 'Temperature',
        key: 'temperature',
        deviceClass: 'temperature',
        unit: '°C',
        stateClass: 'measurement',
      },
      {
        component: 'binary_sensor',
        objectId: 'connectivity',
        name: 'Connectivity',
        key: 'connected',
        entityCategory: 'diagnostic',
      },
      {
        component: 'sensor',
        objectId: 'firmware_version',
        name: 'Firmware version',
        key: 'firmware_version',
      },
    ]);
  });

  it("gives a dimmable light HA's brightness scale (its own scale, else its max), an on/off light none", () => {
    const [dimmable, scaled, onOff] = entitiesOf([
      light({ brightness: { max: 254 } }),
      light({ brightness: { max: 254, scale: 200 } }),
      light(),
    ]);
    expect(dimmable).toEqual({
      component: 'light',
      objectId: 'light',
      name: 'Light',
      key: 'state',
      brightnessScale: 254,
    });
    expect(scaled?.brightnessScale).toBe(200);
    expect(onOff).not.toHaveProperty('brightnessScale');
  });

  it('announces an on/off light with the onoff color mode, a dimmable one with brightness', () => {
    const topics = new Topics('fb');
    const configs = deviceDiscovery(
      topics,
      '0',
      { id: 'l', driver: 'simulated' },
      { manufacturer: 'm', model: 'm', expireAfterS: 60 },
      entitiesOf([light()]),
    ).map((message) => JSON.parse(message.payload) as Record<string, unknown>);
    expect(configs[0]).toMatchObject({ schema: 'json', supported_color_modes: ['onoff'] });
    expect(configs[0]).not.toHaveProperty('brightness_scale');
  });

  it('has no entity for what is not in the state: a read on demand, a value only commanded', () => {
    expect(entitiesOf([readOnDemand(), numeric('setpoint', { access: ACCESS.SET })])).toEqual([]);
  });
});

describe('capability → command schema', () => {
  it('a value with set access is a field of set; without it, the device has no set at all', () => {
    const settable = numeric('setpoint', { access: ACCESS.STATE | ACCESS.SET, min: 5, max: 30 });
    const schema = commandSchema([settable], 'set');
    expect(refusal(schema, { setpoint: 21 })).toBeUndefined();
    expect(refusal(schema, { setpoint: 31 })).toMatch(/<=30/);
    expect(refusal(schema, { setpoint: 'warm' })).toMatch(/expected number/);
    expect(commandSchema([numeric('temperature')], 'set')).toBeUndefined();
    // A read-only value next to a settable one adds no field.
    expect(refusal(commandSchema([settable, numeric('temperature')], 'set'), { temperature: 1 })).toMatch(
      /temperature/,
    );
  });

  it('binary and text values take their own type when settable', () => {
    const schema = commandSchema(
      [binary('relay', { access: ACCESS.SET }), text('label', { access: ACCESS.SET })],
      'set',
    );
    expect(refusal(schema, { relay: true, label: 'hall' })).toBeUndefined();
    expect(refusal(schema, { relay: 'ON' })).toBeDefined();
    expect(refusal(schema, { label: 3 })).toBeDefined();
  });

  it('a light without brightness refuses brightness; one without transition refuses transition', () => {
    const onOff = commandSchema([light()], 'set');
    expect(refusal(onOff, { state: 'ON', flash: 2 })).toBeUndefined();
    expect(refusal(onOff, { brightness: 100 })).toMatch(/brightness/);
    expect(refusal(onOff, { transition: 1 })).toMatch(/transition/);
    expect(refusal(commandSchema([light()], 'get'), { brightness: '' })).toMatch(/brightness/);

    const dimmable = commandSchema([light({ brightness: { max: 100 }, transition: true })], 'set');
    expect(refusal(dimmable, { state: 'ON', brightness: 100, transition: 1.5 })).toBeUndefined();
    expect(refusal(dimmable, { brightness: 101 })).toMatch(/<=100/);
  });

  it('get names a value with get access by an empty string, and a read on demand takes no field', () => {
    const get = commandSchema([light({ brightness: { max: 254 } }), binary('lamp_failure')], 'get');
    expect(refusal(get, { state: '', brightness: '' })).toBeUndefined();
    expect(refusal(get, { lamp_failure: '' })).toMatch(/lamp_failure/);
    expect(refusal(get, { state: 'ON' })).toBeDefined();
    const readNow = commandSchema([readOnDemand(), numeric('energy')], 'get');
    expect(refusal(readNow, {})).toBeUndefined();
    expect(refusal(readNow, { energy: '' })).toMatch(/energy/);
    expect(commandSchema([numeric('energy')], 'get')).toBeUndefined();
  });

  it('refuses two capabilities commanding one field (a driver bug)', () => {
    expect(() => commandSchema([light(), light()], 'set')).toThrow(/"state"/);
  });

  it('keeps, as the state to restore, what is both commanded and published', () => {
    expect([...stateFieldsOf([light({ brightness: { max: 254 }, transition: true })])]).toEqual([
      'state',
      'brightness',
    ]);
    expect([...stateFieldsOf([light(), numeric('temperature')])]).toEqual(['state']);
  });
});

describe('typed light commands for runtimes', () => {
  it("parses a light's set into its typed fields, refusing what that light's schema refuses", () => {
    const dimmable = light({ brightness: { max: 254 }, transition: true });
    expect(lightSet(dimmable, { state: 'ON', brightness: 10, transition: 1 })).toEqual({
      state: 'ON',
      brightness: 10,
      transition: 1,
    });
    expect(lightSet(dimmable, null)).toEqual({});
    expect(() => lightSet(light(), { brightness: 10 })).toThrow(/invalid light command/);
    expect(() => lightSet(dimmable, { brightness: 'high' })).toThrow(/brightness/);
  });

  it('a simulated lamp rejects a set its schema refuses instead of ignoring the fields', async () => {
    const runtime = new SimulatedBusRuntime('bus', systemClock);
    runtime.addDevice('lamp', { connectDelayMs: 0, operationDelayMs: 0 }, true);
    const signal = new AbortController().signal;
    await runtime.connect('lamp', signal);
    await expect(runtime.execute('lamp', 'set', { brightness: 300 }, signal)).rejects.toThrow(/brightness/);
    expect(await runtime.execute('lamp', 'set', { brightness: 80 }, signal)).toEqual({
      state: 'ON',
      brightness: 80,
    });
  });
});

describe('the drivers declare their devices through capabilities', () => {
  const config = parseConfig(
    [
      'dali: [{ transport: simulated }]',
      'ble: [{ adapter: hci0 }]',
      'devices:',
      '  - { id: hall, driver: dali, transport: simulated, address: 5 }',
      '  - { id: heat, driver: mbus, transport: simulated }',
    ].join('\n'),
    {},
  );
  const devices = withDiscovered(config, []).config.devices;
  const byRole = (driver: string, role: string | undefined) =>
    devices.find(
      (device) => device.driver === driver && ('role' in device ? device.role : undefined) === role,
    ) as DeviceConfig;

  it('a meter is read on demand with {} and has nothing to set', () => {
    const meter = byRole('mbus', undefined);
    expect(invalidCommand(meter, 'get', {})).toBeUndefined();
    expect(invalidCommand(meter, 'get', { energy: '' })).toBe('unknown field "energy"');
    expect(invalidCommand(meter, 'set', {})).toBe('driver mbus has no "set" command');
    expect(deviceEntities(meter, undefined)).toEqual([]);
  });

  it('a DALI adapter runs its self-test on get but takes no set; its lamps do', () => {
    const adapter = byRole('dali', 'adapter');
    expect(invalidCommand(adapter, 'get', {})).toBeUndefined();
    expect(invalidCommand(adapter, 'set', { state: 'ON' })).toBe('driver dali has no "set" command');
    expect(invalidCommand(byRole('dali', undefined), 'set', { state: 'ON' })).toBeUndefined();
    expect(deviceEntities(adapter, undefined).map((entity) => entity.objectId)).toEqual([
      'connectivity',
      'firmware',
    ]);
  });

  it('a DALI lamp announces its max level as the brightness scale, and still takes any DALI level', () => {
    const lamp = byRole('dali', undefined);
    expect(deviceEntities(lamp, { max_level: 200 })[0]?.brightnessScale).toBe(200);
    expect(invalidCommand(lamp, 'set', { brightness: 254 })).toBeUndefined();
  });

  it('the BLE adapter takes no command', () => {
    const adapter = byRole('ble', 'adapter');
    expect(invalidCommand(adapter, 'get', {})).toBe('driver ble has no "get" command');
  });
});
