import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../src/drivers/contract.js';
import { simulatedDaliAdaptersOf } from '../src/drivers/dali/simulatedAdapters.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { simulatedDaliCentersOf } from '../src/drivers/dalicenter/simulatedGateways.js';
import { decodeTelegram } from '../src/drivers/mbus/codec/index.js';
import { meterReading, meterTimePoint } from '../src/drivers/mbus/readings.js';
import { SensorDecoder } from '../src/drivers/ble/sensors.js';
import { encodePvvx } from '../src/drivers/shared/bluez/simulator/encode.js';
import { demoConfig } from '../src/config/demo.js';
import { withDiscovered } from '../src/gateway/discovered.js';
import { type DeviceConfig, type FieldbridgeConfig, parseConfig } from '../src/config/index.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import { systemClock } from '../src/machines/clock.js';
import { homeAssistantProblems, jinjaMissing } from './helpers/homeAssistantRules.js';
import { published, runDevices } from './helpers/publishedEntities.js';
import { readVector, VECTORS_DIR, vectorFiles } from './helpers/vectors.js';

// Home Assistant accepts every entity fieldbridge announces and renders every state without a warning:
// every discovery config of every driver, built from real states (meters decoded from libmbus's frames,
// lamps and groups on the simulated DALI bus, BLE sensors from the BTHome and Ruuvi vectors, the generic
// simulated device, the demo), checked against HA's own tables and rendered with Jinja2.

const missing = jinjaMissing();
if (missing) console.warn(`skipping the Home Assistant conformance test: ${missing}`);
const describeWithJinja = missing ? describe.skip : describe;

// The gateway's own logs (databases opened, adapters found) are not what this test is about.
let logs: LogCapture | undefined;
beforeAll(() => {
  logs = captureLogs();
});
afterAll(() => logs?.stop());

function devices(yaml: string): DeviceConfig[] {
  return parseConfig(yaml, {}).devices;
}

function expectAccepted(
  devicesOf: readonly DeviceConfig[],
  results: readonly (readonly [string, JsonValue])[],
) {
  const { entities, payloads, notRetained } = published(devicesOf, results);
  expect(homeAssistantProblems(entities, payloads, notRetained)).toEqual([]);
  return entities;
}

describeWithJinja('Home Assistant accepts', () => {
  it('the generic simulated device: its light state always has state and brightness', async () => {
    const simulated = devices('devices: [{ id: climate, driver: simulated }]');
    const results = await runDevices(simulated, systemClock, 0);
    // Before any command: the first poll alone carries the lamp's state (HA reads `state` in every message).
    const { payloads } = published(simulated, results.slice(0, 1));
    expect(JSON.parse(payloads.get('fieldbridge/climate') ?? '{}')).toMatchObject({
      state: 'OFF',
      brightness: 0,
    });
    const entities = expectAccepted(simulated, results);
    expect(entities.map((entity) => entity.topic)).toContain(
      'homeassistant/light/fieldbridge_climate/light/config',
    );
    expectAccepted(simulated, results.slice(0, 1));
  });

  it('a device of another driver simulated without its protocol gets no light', () => {
    const meter = devices('devices: [{ id: meter, driver: mbus, transport: simulated }]');
    const { entities } = published(meter, []);
    expect(entities.filter((entity) => entity.topic.includes('/light/'))).toEqual([]);
  });

  it('DALI lamps, groups, broadcast and the adapter, with a failed lamp in a group', async () => {
    const dali = devices(`
devices:
  - { id: lamp0, driver: dali, transport: simulated, bus: dali_ha, address: 0 }
  - { id: lamp1, driver: dali, transport: simulated, bus: dali_ha, address: 1 }
  - { id: group0, driver: dali, transport: simulated, bus: dali_ha, group: 0 }
  - { id: everything, driver: dali, transport: simulated, bus: dali_ha }
  - { id: stick, driver: dali, transport: simulated, bus: dali_ha, role: adapter }
`);
    // One gateway: its simulated adapter (and the failed lamp) is kept across the two runs.
    const gateway = new GatewayOpenContext(systemClock);
    const before = await runDevices(dali, systemClock, 0, gateway);
    const busId = dali[0]?.bus ?? '';
    simulatedDaliAdaptersOf(gateway).get(busId)?.stick().bus.setLampFailure(1, true);
    const after = await runDevices(dali, systemClock, 0, gateway);
    await gateway.close();
    const entities = expectAccepted(dali, [...before, ...after]);
    const topics = entities.map((entity) => entity.topic);
    expect(topics).toContain('homeassistant/binary_sensor/fieldbridge_group0/lamp_failure/config');
    const { payloads } = published(dali, [...before, ...after]);
    expect(JSON.parse(payloads.get('fieldbridge/group0') ?? '{}')).toMatchObject({ lamp_failure: true });
  });
});

describeWithJinja('Home Assistant accepts the DALI Center entities', () => {
  it('lights of every type, a group, a scene, motion, illuminance, a panel and the gateway', async () => {
    const at = (role: string, devType: string, address: number) =>
      `{ id: dc_${role}_${address}, driver: dalicenter, transport: simulated, serial: 6A242121110E, bus: dc_ha, role: ${role}, dev_type: "${devType}", channel: 0, address: ${address} }`;
    const dc = devices(`
devices:
  - { id: dc_gateway, driver: dalicenter, transport: simulated, serial: 6A242121110E, bus: dc_ha, role: gateway }
  - ${at('light', '0101', 0)}
  - { id: dc_tc, driver: dalicenter, transport: simulated, serial: 6A242121110E, bus: dc_ha, role: light, dev_type: "0102", channel: 0, address: 1, min_kelvin: 2700, max_kelvin: 6500 }
  - ${at('light', '0103', 2)}
  - ${at('light', '0105', 4)}
  - { id: dc_group, driver: dalicenter, transport: simulated, serial: 6A242121110E, bus: dc_ha, role: group, channel: 0, group_id: 0 }
  - { id: dc_scene, driver: dalicenter, transport: simulated, serial: 6A242121110E, bus: dc_ha, role: scene, channel: 0, scene_id: 0 }
  - ${at('motion', '0201', 10)}
  - ${at('illuminance', '0202', 12)}
  - ${at('panel', '0304', 22)}
`);
    // The sensors and the panel report by push only: the simulated gateway pushes while the test listens.
    const context = new GatewayOpenContext(systemClock);
    const pushes = setInterval(() => {
      const gateway = simulatedDaliCentersOf(context).get('dc_ha');
      gateway?.push.motion(10, 'motion');
      gateway?.push.illuminance(12, 321);
      gateway?.push.panelKey(22, 2, 'hold');
      gateway?.push.energy(0, 3.5);
    }, 100);
    const results = await runDevices(dc, systemClock, 1_000, context);
    clearInterval(pushes);
    const entities = expectAccepted(dc, results);
    const config = (suffix: string) => entities.find((entity) => entity.topic.endsWith(suffix))?.config;
    expect(config('/fieldbridge_dc_tc/light/config')).toMatchObject({
      supported_color_modes: ['color_temp'],
      color_temp_kelvin: true,
      min_kelvin: 2700,
      max_kelvin: 6500,
    });
    expect(config('/fieldbridge_dc_light_2/light/config')).toMatchObject({ supported_color_modes: ['hs'] });
    expect(config('/fieldbridge_dc_light_4/light/config')).toMatchObject({ supported_color_modes: ['rgbw'] });
    expect(config('/fieldbridge_dc_scene/scene/config')).toMatchObject({ payload_on: '{"activate":true}' });
    // Each device in HA's registry by its type code.
    expect(config('/fieldbridge_dc_tc/light/config')?.device).toMatchObject({
      manufacturer: 'Sunricher',
      model: 'DALI DT8 Tc Dimmable Driver',
    });
    expect(config('/fieldbridge_dc_panel_22/event/config')?.event_types).toContain('button_4_double_press');
    expect(config('/fieldbridge_dc_light_0/energy/config')).toMatchObject({
      unit_of_measurement: 'Wh',
      state_class: 'total_increasing',
    });
    await context.close();
  }, 30_000);
});

/** A device id for a vector's name: HA's problems then name the vector (fieldbridge_<id>). */
const idOf = (name: string) =>
  name
    .toLowerCase()
    .replace(/\.hex$/, '')
    .replace(/[^a-z0-9]+/g, '_');

const libmbus = VECTORS_DIR && join(VECTORS_DIR, 'libmbus', 'test-frames');
/** A libmbus frame file as bytes. */
function frameBytes(name: string): Uint8Array {
  return Uint8Array.from(
    readVector(libmbus ?? '', name)
      .trim()
      .split(/\s+/)
      .map((pair) => parseInt(pair, 16)),
  );
}

/** Every libmbus frame as a meter (its id from the file name) with the reading the codec makes of it. */
function libmbusMeters(): { meters: DeviceConfig[]; results: [string, JsonValue][] } {
  const frames = vectorFiles(libmbus ?? '', '.hex');
  const meters = devices(
    `devices:\n${frames.map((name, address) => `  - { id: ${idOf(name)}, driver: mbus, port: /dev/ttyUSB0, address: ${address} }`).join('\n')}`,
  );
  const results = frames.map((name): [string, JsonValue] => [
    idOf(name),
    meterReading({ telegrams: [decodeTelegram(frameBytes(name))], secondary: '' }),
  ]);
  return { meters, results };
}

describeWithJinja('Home Assistant accepts every M-Bus meter of the libmbus vectors', () => {
  it.runIf(libmbus !== undefined)('each frame decoded by the codec, as its state and its entities', () => {
    const { meters, results } = libmbusMeters();
    expect(expectAccepted(meters, results).length).toBeGreaterThan(meters.length * 3);
  });
});

describe('M-Bus entities', () => {
  it.runIf(libmbus !== undefined)('a temperature difference in K has no device class', () => {
    const { meters, results } = libmbusMeters();
    // HA's `temperature` class would show a 55 K difference as a temperature of about -218 °C.
    const difference = published(meters, results).entities.find((entity) =>
      entity.topic.endsWith('/fieldbridge_kamstrup_multical_601/06855817_temperature_difference/config'),
    );
    expect(difference?.config).toMatchObject({ unit_of_measurement: 'K', state_class: 'measurement' });
    expect(difference?.config.device_class).toBeUndefined();
  });

  it.runIf(libmbus !== undefined)('junk records are no sensors', () => {
    const { meters, results } = libmbusMeters();
    // DIF 1F (more records follow), manufacturer blobs (DIF 0F) and values of VIF 7F/FF.
    const topics = published(meters, results).entities.map((entity) => entity.topic);
    expect(topics.filter((topic) => /more_records_follow|manufacturer_specific\//.test(topic))).toEqual([]);
  });
});

describe('M-Bus time points as Home Assistant reads them', () => {
  it("a date and time is the gateway's local time with its UTC offset; a date stays a date", () => {
    const stamped = meterTimePoint('2014-03-13T11:11:00');
    expect(stamped).toMatch(/^2014-03-13T11:11:00[+-]\d{2}:\d{2}$/);
    expect(Date.parse(stamped ?? '')).toBe(new Date(2014, 2, 13, 11, 11, 0).getTime());
    expect(meterTimePoint('2013-12-31')).toBe('2013-12-31');
  });

  it('an unset or impossible time point is null (unknown in HA), not text HA cannot parse', () => {
    for (const unset of [
      '2000-00-00',
      '1900-01-00T00:00:00',
      '2014-02-30',
      '2014-13-01T00:00:00',
      '24:00',
      '',
    ])
      expect(meterTimePoint(unset), unset).toBeNull();
  });

  it.runIf(libmbus !== undefined)(
    'the flat value of a time point record is what the timestamp and date sensors read',
    () => {
      const reading = meterReading({
        telegrams: [decodeTelegram(frameBytes('kamstrup_multical_601.hex'))],
        secondary: '',
      });
      expect(reading.time_point_date_time).toBe(meterTimePoint('2011-01-05T15:26:00'));
      expect(reading.records.find((record) => record.key === 'time_point_date_time')?.value).toBe(
        '2011-01-05T15:26:00',
      );
    },
  );
});

interface BthomeVector {
  test: string;
  service_data_uuid: string;
  payload_hex: string;
  address: string;
  bindkey_hex: string | null;
}
interface RuuviVector {
  case: string;
  manufacturer_data_hex: string;
}

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

type AdvertisementProps = {
  serviceData?: Record<string, Uint8Array>;
  manufacturerData?: Record<number, Uint8Array>;
};

/** What the BLE runtime publishes for one advertisement of a configured sensor. */
function bleState(mac: string, props: AdvertisementProps, bindKey?: string): JsonValue | undefined {
  const decoder = new SensorDecoder(
    { busId: 'ble:hci0', adapter: 'hci0' },
    [{ deviceId: 'sensor', mac, bindKey, offlineAfterMs: 600_000 }],
    () => undefined,
  );
  const outcome = decoder.decode(mac, { ...props, rssi: -60 }, Date.now(), () => undefined);
  return outcome.kind === 'reading' ? outcome.result : undefined;
}

interface BleCase {
  name: string;
  mac: string;
  props: AdvertisementProps;
  bindKey?: string | undefined;
}

/** Every case as its own sensor device, each with the state its advertisement gives. */
function expectSensorsAccepted(cases: readonly BleCase[]) {
  const sensors = cases.map((sensor, index) => ({ ...sensor, id: `${idOf(sensor.name)}_${index}` }));
  const configured = devices(
    `devices:\n${sensors.map(({ id, mac, bindKey }) => `  - { id: ${id}, driver: ble, mac: '${mac}'${bindKey ? `, bind_key: '${bindKey}'` : ''} }`).join('\n')}`,
  );
  const results = sensors.flatMap(({ id, mac, props, bindKey }): [string, JsonValue][] => {
    const state = bleState(mac, props, bindKey);
    return state === undefined ? [] : [[id, state]];
  });
  // A packet that carries no reading (an event only) has no state: its device has no entities yet.
  const withState = new Set(results.map(([id]) => id));
  return expectAccepted(
    configured.filter((device) => withState.has(device.id)),
    results,
  );
}

/** The `vectors` list of a JSON vector file. */
function jsonVectors<T>(folder: string, file: string): T[] {
  return (JSON.parse(readVector(join(VECTORS_DIR ?? '', folder), file)) as { vectors: T[] }).vectors;
}

describeWithJinja('Home Assistant accepts every BLE sensor of the vectors', () => {
  it.runIf(VECTORS_DIR !== undefined)('BTHome, each vector as a sensor', () => {
    const vectors = jsonVectors<BthomeVector>('bthome', 'bthome_v2_vectors.json');
    const entities = expectSensorsAccepted(
      vectors.map((vector) => ({
        name: vector.test,
        mac: vector.address,
        props: { serviceData: { [vector.service_data_uuid]: bytes(vector.payload_hex) } },
        bindKey: vector.bindkey_hex ?? undefined,
      })),
    );
    expect(entities.length).toBeGreaterThan(vectors.length);
  });

  it.runIf(VECTORS_DIR !== undefined)('Ruuvi, without its measurement sequence as an entity', () => {
    const vectors = jsonVectors<RuuviVector>('ruuvi', 'ruuvi_df5_vectors.json');
    const entities = expectSensorsAccepted(
      vectors.map((vector) => ({
        name: `ruuvi ${vector.case}`,
        mac: 'CB:B8:33:4C:88:4F',
        props: { manufacturerData: { 0x0499: bytes(vector.manufacturer_data_hex) } },
      })),
    );
    expect(entities.some((entity) => entity.topic.includes('/temperature/'))).toBe(true);
    expect(entities.map((entity) => entity.topic).join(' ')).not.toContain('measurement_sequence');
  });

  it('a pvvx (ATC firmware) thermometer', () => {
    const mac = 'A4:C1:38:11:22:33';
    const data = encodePvvx({
      mac,
      temperature: 21.5,
      humidity: 48.2,
      batteryMv: 2950,
      battery: 80,
      counter: 7,
    });
    const entities = expectSensorsAccepted([
      { name: 'pvvx', mac, props: { serviceData: { '0000181a-0000-1000-8000-00805f9b34fb': data } } },
    ]);
    expect(entities.some((entity) => entity.topic.includes('/humidity/'))).toBe(true);
  });
});

/** The devices the gateway runs for a config: with the adapter devices its `ble:` and `dali:` lines imply. */
const running = (config: FieldbridgeConfig) => withDiscovered(config, []).config.devices;

describeWithJinja('Home Assistant accepts the demo', () => {
  it('every device of the demo config, run on its own transport', async () => {
    const demo = running(demoConfig({ broker: { kind: 'embedded', port: 1883 }, available: [] }));
    const results = await runDevices(demo, systemClock, 3_000);
    const entities = expectAccepted(demo, results);
    for (const device of demo)
      expect(
        entities.some((entity) => entity.topic.includes(`/fieldbridge_${device.id}/`)),
        `${device.id} has entities`,
      ).toBe(true);
  }, 60_000);

  it('the demo with its BLE sensors on a simulated BlueZ adapter (the adapter device)', async () => {
    const demo = running(demoConfig({ broker: { kind: 'embedded', port: 1883 }, available: ['ble'] }));
    const entities = expectAccepted(demo, await runDevices(demo, systemClock, 3_000));
    expect(entities.some((entity) => entity.topic.endsWith('/last_advertisement/config'))).toBe(true);
  }, 60_000);
});

describeWithJinja('Home Assistant accepts Renogy devices', () => {
  it('a controller behind a BT-1, batteries on a hub, a Pro battery, an inverter and a Smart Shunt, read on the fake BlueZ', async () => {
    const renogy = devices(`
devices:
  - { id: solar, driver: renogy, transport: simulated, mac: 'C4:D3:6A:00:10:01' }
  - { id: house_battery, driver: renogy, transport: simulated, mac: 'C4:D3:6A:00:10:02', family: battery, topology: hub }
  - { id: pro_battery, driver: renogy, transport: simulated, mac: 'C4:D3:6A:00:10:03', family: battery }
  - { id: shunt, driver: renogy, transport: simulated, mac: 'C4:D3:6A:00:10:04', family: shunt }
  - { id: inverter, driver: renogy, transport: simulated, mac: 'C4:D3:6A:00:10:05', family: inverter }
`);
    const results = await runDevices(renogy, systemClock, 0);
    expect([...new Set(results.map(([id]) => id))].sort()).toEqual([
      'house_battery',
      'inverter',
      'pro_battery',
      'shunt',
      'solar',
    ]);
    const entities = expectAccepted(renogy, results);
    const config = (suffix: string) => entities.find((entity) => entity.topic.endsWith(suffix))?.config;
    expect(config('/fieldbridge_solar/battery_soc/config')).toMatchObject({
      device_class: 'battery',
      unit_of_measurement: '%',
      state_class: 'measurement',
    });
    expect(config('/fieldbridge_solar/power_generation_total/config')).toMatchObject({
      device_class: 'energy',
      unit_of_measurement: 'Wh',
      state_class: 'total_increasing',
    });
    expect(config('/fieldbridge_solar/charging_state/config')).toMatchObject({ device_class: 'enum' });
    expect(config('/fieldbridge_solar/charging_state/config')?.options).toContain('mppt');
    expect(config('binary_sensor/fieldbridge_solar/fault_pv_short_circuit/config')).toMatchObject({
      device_class: 'problem',
    });
    expect(config('switch/fieldbridge_solar/load_on/config')).toMatchObject({
      command_topic: 'fieldbridge/solar/set',
      payload_on: '{"load_on":true}',
    });
    expect(config('/fieldbridge_house_battery/cell_voltage_1/config')).toMatchObject({
      device_class: 'voltage',
      unit_of_measurement: 'V',
    });
    // A Pro battery configured as a battery still reads its current in 0.1 A (its name says RNGRBP).
    const { payloads } = published(renogy, results);
    expect(JSON.parse(payloads.get('fieldbridge/pro_battery') ?? '{}')).toMatchObject({ current: 2.5 });
    // Four cells reported, four cell entities (not the sixteen the registers could hold).
    expect(
      entities.filter((entity) => /fieldbridge_house_battery\/cell_voltage_/.test(entity.topic)),
    ).toHaveLength(4);
    // The Smart Shunt: its five readings with their classes, no Modbus id, no switch.
    const shunt = (key: string) => config(`sensor/fieldbridge_shunt/${key}/config`);
    expect(shunt('current')).toMatchObject({ device_class: 'current', unit_of_measurement: 'A' });
    expect(shunt('voltage')).toMatchObject({ device_class: 'voltage', unit_of_measurement: 'V' });
    expect(shunt('starter_voltage')).toMatchObject({ device_class: 'voltage', unit_of_measurement: 'V' });
    expect(shunt('battery_soc')).toMatchObject({ device_class: 'battery', unit_of_measurement: '%' });
    expect(shunt('battery_temperature')).toMatchObject({
      device_class: 'temperature',
      unit_of_measurement: '°C',
      state_class: 'measurement',
    });
    expect(entities.filter((entity) => entity.topic.includes('/fieldbridge_shunt/'))).toHaveLength(5);
    expect(JSON.parse(payloads.get('fieldbridge/shunt') ?? '{}')).toMatchObject({ voltage: 13.275 });
    // The inverter, read once its ffd4 was: frequencies in Hz, apparent power in VA.
    expect(config('/fieldbridge_inverter/output_frequency/config')).toMatchObject({
      device_class: 'frequency',
      unit_of_measurement: 'Hz',
    });
    expect(config('/fieldbridge_inverter/load_apparent_power/config')).toMatchObject({
      device_class: 'apparent_power',
      unit_of_measurement: 'VA',
    });
    // Batteries have no load output: no switch.
    expect(entities.some((entity) => entity.topic.includes('switch/fieldbridge_pro_battery'))).toBe(false);
  }, 60_000);
});

describeWithJinja('the Home Assistant rules catch what HA refuses or warns about', () => {
  const base = { unique_id: 'u', device: { identifiers: ['d'] }, state_topic: 'fb/d' };
  const check = (topic: string, config: Record<string, unknown>, state: Record<string, unknown>) =>
    homeAssistantProblems(
      [{ topic, config: { ...base, ...config } }],
      new Map([['fb/d', JSON.stringify(state)]]),
    );
  const sensor = 'homeassistant/sensor/fieldbridge_d/x/config';

  it('text in a sensor with a unit, a unit of another device class, a state class not allowed', () => {
    expect(
      check(sensor, { value_template: '{{ value_json.t }}', unit_of_measurement: '-' }, { t: '2014-03-13' }),
    ).toEqual([
      `${sensor}: value_template: "2014-03-13" is not a number, and a sensor with a unit or state_class must be one`,
    ]);
    expect(check(sensor, { device_class: 'temperature', unit_of_measurement: 'kWh' }, {})).toContain(
      `${sensor}: unit "kWh" is not one of device_class temperature's`,
    );
    expect(
      check(sensor, { device_class: 'energy', unit_of_measurement: 'Wh', state_class: 'measurement' }, {}),
    ).toContain(`${sensor}: state_class measurement is not allowed for device_class energy`);
  });

  it('a timestamp without a time zone, a template reading a key the state does not have', () => {
    expect(
      check(
        sensor,
        { device_class: 'timestamp', value_template: '{{ value_json.t }}' },
        { t: '2014-03-13T11:11:00' },
      ),
    ).toEqual([
      `${sensor}: value_template: timestamp "2014-03-13T11:11:00" is not an ISO 8601 time with a time zone`,
    ]);
    const binary = 'homeassistant/binary_sensor/fieldbridge_d/x/config';
    expect(
      check(binary, { value_template: "{{ 'ON' if value_json.lamp_failure else 'OFF' }}" }, {})[0],
    ).toMatch(/has no attribute 'lamp_failure'/);
  });

  it('a JSON light whose state has no "state" key, or the legacy brightness flag', () => {
    const light = 'homeassistant/light/fieldbridge_d/light/config';
    const config = { schema: 'json', command_topic: 'fb/d/set', supported_color_modes: ['brightness'] };
    expect(check(light, config, { temperature: 21 })).toContain(
      `${light}: light state has no "state" key (HA errors on every message)`,
    );
    expect(check(light, { ...config, brightness: true }, { state: 'ON', brightness: 3 })).toEqual([
      `${light}: brightness is not part of a color-mode JSON light`,
    ]);
  });

  it('an event on a retained topic (HA fires it again after a restart), or of a type it was not told of', () => {
    const event = 'homeassistant/event/fieldbridge_d/event/config';
    const config = { event_types: ['press'] };
    expect(check(event, config, { event_type: 'press' })).toEqual([`${event}: events on fb/d are retained`]);
    const sent = (payload: Record<string, unknown>) =>
      homeAssistantProblems(
        [{ topic: event, config: { ...base, ...config } }],
        new Map([['fb/d', JSON.stringify(payload)]]),
        new Set(['fb/d']),
      );
    expect(sent({ event_type: 'press', key: 1 })).toEqual([]);
    expect(sent({ event_type: 'hold' })).toEqual([`${event}: event_type "hold" is not one of event_types`]);
  });
});
