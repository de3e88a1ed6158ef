import { describe, expect, it } from 'vitest';
import {
  addGroup,
  BROADCAST_DEVICE,
  classifyDeviceType,
  clientIdFor,
  commandTopic,
  deviceUniqueId,
  encodeCommand,
  expectedReply,
  getDeviceParameters,
  getEnergy,
  groupUniqueId,
  KNOWN_DEVICE_TYPES,
  lightProperties,
  MessageIds,
  parseDeviceUniqueId,
  parseRequest,
  readGroup,
  reportTopic,
  sceneUniqueId,
  serialOfTopic,
  serialToMac,
  setDeviceParameters,
  startBusScan,
  stopBusScan,
  toGatewayBrightness,
  writeDevices,
  writeGroup,
  writeLight,
  writeScene,
} from '../src/drivers/dalicenter/codec/index.js';

const SN = '6A242121110E';
const envelope = (msgId: string) => ({ gatewaySerial: SN, msgId });
const sent = (payload: string): unknown => JSON.parse(payload);

describe('DALI Center topics, client id and msgId (notes §3, §4)', () => {
  it('uses the literal topics, leading and trailing slash, "reciver" as misspelt', () => {
    expect(commandTopic(SN)).toBe('/6A242121110E/server/publish/');
    expect(reportTopic(SN)).toBe('/6A242121110E/client/reciver/');
    expect(serialOfTopic('/6A242121110E/client/reciver/')).toEqual({ serial: SN, direction: 'report' });
    expect(serialOfTopic('/6A242121110E/client/receiver/')).toBeUndefined();
  });

  it('a client id is unique per connection (serial and epoch ms)', () => {
    expect(clientIdFor(SN, 1760000000123)).toBe('fieldbridge_6A242121110E_1760000000123');
  });

  it("msgIds: <ms>-<seq> unique within a millisecond, or the SDK's seconds", () => {
    const ids = new MessageIds(() => 1760000000123);
    expect([ids.next(), ids.next()]).toEqual(['1760000000123-1', '1760000000123-2']);
    expect(new MessageIds(() => 1760000000999, 'seconds').next()).toBe('1760000000');
  });
});

describe("DALI Center commands: the notes' literal examples (§5.2)", () => {
  it('CCT light on at about 50 % and 4000 K: same message, brightness sent as an integer', () => {
    const payload = encodeCommand(
      writeLight(
        { devType: '0102', channel: 0, address: 3 },
        { on: true, brightness: toGatewayBrightness(128), kelvin: 4000 },
      ),
      envelope('1760000000'),
    );
    // The notes' example carries the SDK's unrounded 501.96078431372547; we send round(128*1000/255).
    expect(sent(payload)).toEqual({
      cmd: 'writeDev',
      msgId: '1760000000',
      gwSn: SN,
      data: [
        {
          devType: '0102',
          channel: 0,
          address: 3,
          property: [
            { dpid: 20, dataType: 'bool', value: true },
            { dpid: 22, dataType: 'uint16', value: 502 },
            { dpid: 23, dataType: 'uint16', value: 4000 },
          ],
        },
      ],
    });
  });

  it("turn off, RGBW red with white 128, scene recall, broadcast: exactly the notes' JSON", () => {
    expect(
      sent(
        encodeCommand(
          writeLight({ devType: '0101', channel: 0, address: 2 }, { on: false }),
          envelope('1760000001'),
        ),
      ),
    ).toEqual(
      sent(
        '{"cmd": "writeDev", "msgId": "1760000001", "gwSn": "6A242121110E", "data": [{"devType": "0101", "channel": 0, "address": 2, "property": [{"dpid": 20, "dataType": "bool", "value": false}]}]}',
      ),
    );
    const red = writeLight(
      { devType: '0105', channel: 0, address: 5 },
      { on: true, hsv: { hue: 0, saturation: 1000, value: 1000 }, white: 128 },
    );
    expect(encodeCommand(red, envelope('1760000002'))).toBe(
      JSON.stringify(
        sent(
          '{"cmd": "writeDev", "msgId": "1760000002", "gwSn": "6A242121110E", "data": [{"devType": "0105", "channel": 0, "address": 5, "property": [{"dpid": 20, "dataType": "bool", "value": true}, {"dpid": 24, "dataType": "string", "value": "000003e803e8"}, {"dpid": 21, "dataType": "uint8", "value": 128}]}]}',
        ),
      ),
    );
    expect(sent(encodeCommand(writeScene(0, 2), envelope('1760000004')))).toEqual({
      cmd: 'writeScene',
      msgId: '1760000004',
      gwSn: SN,
      channel: 0,
      sceneId: 2,
    });
    expect(sent(encodeCommand(writeLight(BROADCAST_DEVICE, { on: true }), envelope('1760000005')))).toEqual(
      sent(
        '{"cmd": "writeDev", "msgId": "1760000005", "gwSn": "6A242121110E", "data": [{"devType": "FFFF", "channel": 0, "address": 1, "property": [{"dpid": 20, "dataType": "bool", "value": true}]}]}',
      ),
    );
  });

  it('group brightness: one property per writeGroup', () => {
    const [brightness] = lightProperties({ brightness: toGatewayBrightness(200) });
    expect(sent(encodeCommand(writeGroup(0, 1, brightness!), envelope('1760000003')))).toEqual({
      cmd: 'writeGroup',
      msgId: '1760000003',
      gwSn: SN,
      channel: 0,
      groupId: 1,
      data: [{ dpid: 22, dataType: 'uint16', value: 784 }],
    });
  });

  it("device parameters, bus scan and energy history: the notes' JSON", () => {
    expect(
      sent(
        encodeCommand(
          setDeviceParameters(
            { devType: '0102', channel: 0, address: 3 },
            {
              fadeTime: 5,
              fadeRate: 7,
              minBrightness: 100,
              maxBrightness: 900,
              cctWarm: 2700,
              cctCool: 6500,
            },
          ),
          envelope('1760000006'),
        ),
      ),
    ).toEqual(
      sent(
        '{"cmd": "setDevParam", "msgId": "1760000006", "gwSn": "6A242121110E", "data": [{"devType": "0102", "channel": 0, "address": 3, "paramer": {"fadeTime": 5, "fadeRate": 7, "minBrightness": 100, "maxBrightness": 900, "cctWarm": 2700, "cctCool": 6500}}]}',
      ),
    );
    expect(
      sent(
        encodeCommand(
          getDeviceParameters({ devType: '0102', channel: 0, address: 3 }),
          envelope('1760000007'),
        ),
      ),
    ).toEqual(
      sent(
        '{"cmd": "getDevParam", "msgId": "1760000007", "gwSn": "6A242121110E", "devType": "0102", "channel": 0, "address": 3, "fromBus": false}',
      ),
    );
    expect(sent(encodeCommand(startBusScan([0]), envelope('1760000008')))).toEqual(
      sent(
        '{"cmd": "searchDev", "searchFlag": "busDevice", "channel": [0], "AddrAssignment": "auto", "msgId": "1760000008", "gwSn": "6A242121110E"}',
      ),
    );
    expect(
      sent(
        encodeCommand(
          getEnergy({ devType: '0101', channel: 0, address: 2 }, { year: 2026, month: 3, day: 17 }),
          envelope('1760000009'),
        ),
      ),
    ).toEqual(
      sent(
        '{"cmd": "getEnergy", "msgId": "1760000009", "gwSn": "6A242121110E", "data": [{"devType": "0101", "channel": 0, "address": 2, "condition": {"year": 2026, "month": 3, "day": 17, "hour": []}}]}',
      ),
    );
  });

  it('every command builds, names its reply, and reads back as a request', () => {
    const light = { devType: '0101', channel: 0, address: 2 };
    expect(expectedReply(readGroup(0, 1))).toEqual({ cmd: 'readGroupRes', key: { groupId: 1, channel: 0 } });
    expect(expectedReply(stopBusScan())).toBeUndefined();
    expect(
      expectedReply(writeDevices([{ device: light, properties: lightProperties({ on: true }) }])),
    ).toEqual({ cmd: 'writeDevRes' });
    const group = addGroup({ channel: 0, groupId: 3, name: 'Hall', members: [light] });
    const request = parseRequest(encodeCommand(group, envelope('1')));
    expect(request.ok && request.value).toMatchObject({
      cmd: 'addGroup',
      msgId: '1',
      gwSn: SN,
      body: { crossGateway: 'yes', areaId: '0001' },
    });
  });

  it('refuses what the protocol cannot carry, naming it', () => {
    const light = { devType: '0101', channel: 0, address: 2 };
    expect(() => writeLight({ devType: '0101', channel: 0, address: 64 }, { on: true })).toThrow(
      /address must be an integer 0-63, got 64/,
    );
    expect(() => writeLight({ devType: 'lamp', channel: 0, address: 1 }, { on: true })).toThrow(
      /devType "lamp"/,
    );
    expect(() => lightProperties({})).toThrow(/must set something/);
    expect(() => lightProperties({ brightness: 1001 })).toThrow(/brightness 1001/);
    expect(() => lightProperties({ kelvin: 500 })).toThrow(/colour temperature/);
    expect(() => setDeviceParameters(light, { minBrightness: 900, maxBrightness: 100 })).toThrow(
      /minBrightness 900 is above/,
    );
    expect(() => setDeviceParameters(light, { fadeTime: 16 })).toThrow(/fadeTime/);
    expect(() => startBusScan([])).toThrow(/at least one channel/);
  });
});

describe('DALI Center device types (notes §8)', () => {
  const expected: Record<string, unknown> = {
    '0101': { kind: 'light', colourMode: 'brightness', daliDeviceType: 6, whiteChannel: false },
    '0102': {
      kind: 'light',
      colourMode: 'color_temp',
      daliDeviceType: 8,
      whiteChannel: false,
      kelvinLimits: { warmest: 1000, coolest: 8000 },
    },
    '0103': { kind: 'light', colourMode: 'hs', daliDeviceType: 8, whiteChannel: false },
    '0104': { kind: 'light', colourMode: 'hs', daliDeviceType: 8, whiteChannel: false },
    '0105': { kind: 'light', colourMode: 'rgbw', daliDeviceType: 8, whiteChannel: true },
    '0106': { kind: 'light', colourMode: 'rgbw', daliDeviceType: 8, whiteChannel: true },
    '0201': { kind: 'motion', variant: 0 },
    '0202': { kind: 'illuminance' },
    '0300': { kind: 'panel', keys: 1, rotary: true, events: ['press', 'double_press', 'rotate'] },
    '0302': {
      kind: 'panel',
      keys: 2,
      rotary: false,
      events: ['press', 'hold', 'double_press', 'rotate', 'release'],
    },
    '0304': { kind: 'panel', keys: 4 },
    '0306': { kind: 'panel', keys: 6 },
    '0308': { kind: 'panel', keys: 8 },
    '0401': { kind: 'group_reference' },
    FFFF: { kind: 'broadcast' },
  };

  it.each(KNOWN_DEVICE_TYPES.map((code) => [code]))('classifies %s', (code) => {
    const device = classifyDeviceType(code);
    if (code.startsWith('0201') && code.length === 6) {
      expect(device).toMatchObject({
        kind: 'motion',
        variant: Number(code.slice(4)),
        model: `DALI-2 Motion Sensor (${Number(code.slice(4))})`,
      });
      return;
    }
    expect(device).toMatchObject(expected[code] as object);
  });

  it('only DT8 Tc lights carry kelvin limits', () => {
    const withLimits = KNOWN_DEVICE_TYPES.filter((code) => {
      const device = classifyDeviceType(code);
      return device.kind === 'light' && device.kelvinLimits !== undefined;
    });
    expect(withLimits).toEqual(['0102']);
  });

  it('lists every code of the notes: 6 lights, 0201 and its 20 variants, 0202, 5 panels, 0401, FFFF', () => {
    expect(KNOWN_DEVICE_TYPES).toHaveLength(6 + 21 + 1 + 5 + 2);
  });

  it('anything else is unknown, never a throw', () => {
    expect(classifyDeviceType('0107').kind).toBe('unknown');
    expect(classifyDeviceType('020121').kind).toBe('unknown');
    expect(classifyDeviceType('ffff').kind).toBe('broadcast');
    expect(classifyDeviceType('').kind).toBe('unknown');
  });
});

describe('DALI Center identity (notes §9)', () => {
  it('device id is devType + channel(4) + address(2) + gwSn, as in the HA core fixture', () => {
    expect(deviceUniqueId({ devType: '0101', channel: 0, address: 2 }, SN)).toBe('01010000026A242121110E');
    expect(parseDeviceUniqueId('01010000026A242121110E', SN)).toEqual({
      devType: '0101',
      channel: 0,
      address: 2,
    });
    // A 6-character motion type and a serial starting with digits stay unambiguous given the serial.
    expect(parseDeviceUniqueId(`020105000111${'26250205591A'}`, '26250205591A')).toEqual({
      devType: '020105',
      channel: 1,
      address: 11,
    });
    expect(parseDeviceUniqueId('01010000026A242121110E', '26250205591A')).toBeUndefined();
  });

  it('group and scene ids', () => {
    expect(groupUniqueId(1, 0, SN)).toBe('group_0001_0000_6A242121110E');
    expect(sceneUniqueId(2, 0, SN)).toBe('scene_0002_0000_6A242121110E');
  });

  it('the serial is the MAC', () => {
    expect(serialToMac(SN)).toBe('6a:24:21:21:11:0e');
    expect(serialToMac('nope')).toBeUndefined();
  });
});
