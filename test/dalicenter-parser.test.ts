import { describe, expect, it } from 'vitest';
import {
  type DaliCenterProblemKind,
  type InboundMessage,
  INBOUND_CMDS,
  type InboundResult,
  motionBinaryStates,
  parseInbound,
} from '../src/drivers/dalicenter/codec/index.js';
import { seededRandom } from '../src/drivers/shared/random.js';

// The inbound parser against the notes' message shapes (§6, all [constructed] there from the SDK's parsing
// code; no captured payload exists) and against garbage: it never throws, and every refusal has a kind.

const SN = '6A242121110E';
const parse = (payload: unknown): InboundResult =>
  parseInbound(
    typeof payload === 'string' || payload instanceof Uint8Array ? payload : JSON.stringify(payload),
    { gatewaySerial: SN },
  );

function message(payload: unknown): InboundMessage {
  const result = parse(payload);
  if (!result.ok) throw new Error(`refused: ${result.problem.kind}: ${result.problem.detail}`);
  return result.message;
}

function refusal(payload: unknown): DaliCenterProblemKind {
  const result = parse(payload);
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.message)}`);
  return result.problem.kind;
}

function problemKinds(payload: unknown): DaliCenterProblemKind[] {
  const result = parse(payload);
  if (!result.ok) throw new Error(`refused: ${result.problem.detail}`);
  return result.problems.map((found) => found.kind);
}

const status = (devType: string, address: number, property: unknown[]) => ({
  cmd: 'devStatus',
  gwSn: SN,
  data: { devType, channel: 0, address, property },
});

describe("DALI Center inbound messages: the notes' shapes", () => {
  it('devStatus of a CCT light (§6.1)', () => {
    expect(
      message(
        '{"cmd": "devStatus", "gwSn": "6A242121110E", "data": {"devType": "0102", "channel": 0, "address": 3, "property": [{"dpid": 20, "value": true}, {"dpid": 22, "value": 500}, {"dpid": 23, "value": 4000}]}}',
      ),
    ).toMatchObject({
      cmd: 'devStatus',
      gwSn: SN,
      device: {
        devType: '0102',
        channel: 0,
        address: 3,
        uniqueId: '01020000036A242121110E',
        deviceClass: { kind: 'light', colourMode: 'color_temp' },
      },
      report: { kind: 'light', state: { on: true, brightness: 500, kelvin: 4000 } },
    });
  });

  it('property key "id" is taken like "dpid"; HS in 8 or 12 characters; white level', () => {
    expect(
      message(
        status('0105', 5, [
          { id: 24, value: '000003e803e8' },
          { dpid: 21, value: 128 },
        ]),
      ),
    ).toMatchObject({
      report: { kind: 'light', state: { hsv: { hue: 0, saturation: 1000, value: 1000 }, white: 128 } },
    });
  });

  it('a reported brightness 0 stays 0 (the 0 -> 255 bug of issue #73)', () => {
    expect(message(status('0101', 2, [{ dpid: 22, value: 0 }]))).toMatchObject({
      report: { state: { brightness: 0 } },
    });
  });

  it('panel events per key, with the corrected codes (1 press, 2 hold, 3 double_press, 4 rotate, 5 release)', () => {
    expect(
      message(
        status('0304', 22, [
          { dpid: 1, keyNo: 2, value: 0 },
          { dpid: 5, keyNo: 2 },
          { dpid: 3, keyNo: 4 },
          { dpid: 2, keyNo: 1 },
        ]),
      ),
    ).toMatchObject({
      report: {
        kind: 'panel',
        events: [
          { key: 2, event: 'press', name: 'button_2_press' },
          { name: 'button_2_release' },
          { name: 'button_4_double_press' },
          { name: 'button_1_hold' },
        ],
      },
    });
    expect(message(status('0300', 20, [{ dpid: 4, keyNo: 1, value: -3 }]))).toMatchObject({
      report: { events: [{ name: 'button_1_rotate', rotation: -3 }] },
    });
  });

  it('panel: a key beyond the panel or an event the knob lacks is dropped with out_of_range', () => {
    expect(problemKinds(status('0302', 21, [{ dpid: 1, keyNo: 3 }]))).toEqual(['out_of_range']);
    expect(problemKinds(status('0300', 20, [{ dpid: 2, keyNo: 1 }]))).toEqual(['out_of_range']);
    expect(problemKinds(status('0304', 22, [{ dpid: 9, keyNo: 1 }]))).toEqual(['out_of_range']);
  });

  it("motion: the dpid is the state; HA's binary sensors from it", () => {
    expect(message(status('0201', 10, [{ dpid: 2, value: true }]))).toMatchObject({
      report: { kind: 'motion', state: 'motion' },
    });
    expect(message(status('020105', 11, [{ dpid: 3 }]))).toMatchObject({
      device: { deviceClass: { kind: 'motion', variant: 5 } },
      report: { state: 'vacant' },
    });
    expect(problemKinds(status('0201', 10, [{ dpid: 7 }]))).toEqual(['out_of_range']);
    expect(motionBinaryStates('motion')).toEqual({ motion: true, occupancy: true });
    expect(motionBinaryStates('no_motion')).toEqual({ motion: false });
    expect(motionBinaryStates('vacant')).toEqual({ occupancy: false });
    expect(motionBinaryStates('presence')).toEqual({ occupancy: true });
    expect(motionBinaryStates('occupancy')).toEqual({ occupancy: true });
  });

  it('illuminance: dpid 4 as a number or string, valid only when 0 < lux <= 1000', () => {
    expect(message(status('0202', 12, [{ dpid: 4, value: '350.5' }]))).toMatchObject({
      report: { kind: 'illuminance', lux: 350.5 },
    });
    expect(message(status('0202', 12, [{ dpid: 4, value: 1000 }]))).toMatchObject({ report: { lux: 1000 } });
    for (const value of [0, -5, 1000.1, 65535, 'dark']) {
      const result = parse(status('0202', 12, [{ dpid: 4, value }]));
      expect(result.ok && result.message).toMatchObject({ report: { kind: 'illuminance' } });
      expect(result.ok && (result.message as { report: { lux?: number } }).report.lux).toBeUndefined();
      expect(result.ok && result.problems.map((found) => found.kind)).toEqual(['out_of_range']);
    }
  });

  it('onlineStatus: data is an array (§6.2)', () => {
    expect(
      message({
        cmd: 'onlineStatus',
        data: [
          { devType: '0101', channel: 0, address: 2, status: true },
          { devType: '0102', channel: 0, address: 3, status: 0 },
        ],
      }),
    ).toMatchObject({
      devices: [{ device: { uniqueId: '01010000026A242121110E' }, online: true }, { online: false }],
    });
  });

  it('reportEnergy: one object, dpid 30 as a string or number', () => {
    expect(
      message({
        cmd: 'reportEnergy',
        data: { devType: '0101', channel: 0, address: 2, property: [{ dpid: 30, value: '12.34' }] },
      }),
    ).toMatchObject({ energy: 12.34 });
    expect(
      refusal({
        cmd: 'reportEnergy',
        data: { devType: '0101', channel: 0, address: 2, property: [{ dpid: 30, value: -1 }] },
      }),
    ).toBe('out_of_range');
    expect(
      refusal({
        cmd: 'reportEnergy',
        data: { devType: '0101', channel: 0, address: 2, property: [{ dpid: 20, value: true }] },
      }),
    ).toBe('missing_field');
  });

  it('searchDevRes (§6.3): status, flag and devices with devId; status 2 without data', () => {
    expect(
      message(
        '{"cmd": "searchDevRes", "searchFlag": "exited", "searchStatus": 1, "gwSn": "6A242121110E", "data": [{"devType": "0101", "channel": 0, "address": 2, "devId": "01010000026A242121110E", "name": "Dimmer 0000-02", "status": "online", "devSn": "", "areaName": "", "areaId": ""}]}',
      ),
    ).toEqual({
      cmd: 'searchDevRes',
      gwSn: SN,
      searchFlag: 'exited',
      searchStatus: 1,
      devices: [
        expect.objectContaining({
          devType: '0101',
          channel: 0,
          address: 2,
          devId: '01010000026A242121110E',
          name: 'Dimmer 0000-02',
          online: true,
          uniqueId: '01010000026A242121110E',
        }),
      ],
    });
    expect(message({ cmd: 'searchDevRes', searchFlag: 'busDevice', searchStatus: 2 })).toMatchObject({
      searchStatus: 2,
      devices: [],
    });
    expect(refusal({ cmd: 'searchDevRes', searchFlag: 'busDevice', searchStatus: 7, data: [] })).toBe(
      'out_of_range',
    );
  });

  it('searchDevRes: a bad device is dropped and named, the others kept', () => {
    const result = parse({
      cmd: 'searchDevRes',
      searchFlag: 'exited',
      searchStatus: 1,
      data: [
        { devType: '0101', channel: 0, address: 64 },
        { devType: '0107', channel: 0, address: 1 },
        'x',
        { devType: '0101', channel: 0, address: 1 },
      ],
    });
    expect(result.ok && result.problems.map((found) => found.kind)).toEqual([
      'out_of_range',
      'unknown_device_type',
      'wrong_type',
    ]);
    expect(result.ok && (result.message as { devices: unknown[] }).devices).toHaveLength(2);
  });

  it('groups and scenes (§6.4), a 0401 scene member being a group', () => {
    expect(
      message({
        cmd: 'getGroupRes',
        group: [{ channel: 0, data: [{ groupId: 1, name: 'Office', areaId: '0001' }] }],
      }),
    ).toMatchObject({
      groups: [
        { channel: 0, groupId: 1, name: 'Office', areaId: '0001', uniqueId: 'group_0001_0000_6A242121110E' },
      ],
    });
    expect(
      message({
        cmd: 'getSceneRes',
        scene: [{ channel: 0, data: [{ sceneId: 2, name: 'Evening', areaId: '0001' }] }],
      }),
    ).toMatchObject({
      scenes: [{ sceneId: 2, uniqueId: 'scene_0002_0000_6A242121110E' }],
    });
    expect(
      message({
        cmd: 'readGroupRes',
        groupId: 1,
        name: 'Office',
        channel: 0,
        data: [{ devType: '0101', channel: 0, address: 2, devId: '01010000026A242121110E' }],
      }),
    ).toMatchObject({
      group: { groupId: 1, name: 'Office' },
      members: [{ uniqueId: '01010000026A242121110E', devId: '01010000026A242121110E' }],
    });
    expect(
      message({
        cmd: 'readSceneRes',
        sceneId: 2,
        name: 'Evening',
        channel: 0,
        data: {
          device: [
            { devType: '0401', channel: 0, address: 1, gwSnObj: SN, property: [{ dpid: 20, value: true }] },
            { devType: '0101', channel: 0, address: 2, property: [] },
          ],
        },
      }),
    ).toMatchObject({
      scene: { sceneId: 2 },
      members: [
        { isGroup: true, gwSnObj: SN, device: { uniqueId: 'group_0001_0000_6A242121110E' } },
        { isGroup: false },
      ],
    });
  });

  it('version, energy history, sensor and parameter replies, acks (§6.5)', () => {
    expect(message({ cmd: 'getVersionRes', data: { swVersion: '3.65', fwVersion: '1.47' } })).toMatchObject({
      software: '3.65',
      firmware: '1.47',
    });
    expect(
      message({
        cmd: 'getEnergyRes',
        data: [
          {
            devType: '0101',
            channel: 0,
            address: 2,
            yearEnergy: {},
            monthEnergy: {},
            dayEnergy: {},
            hourEnergy: [],
          },
        ],
      }),
    ).toMatchObject({
      entries: [{ history: { yearEnergy: {}, hourEnergy: [] } }],
    });
    expect(
      message({ cmd: 'getSensorOnOffRes', devType: '0202', channel: 0, address: 12, value: false }),
    ).toMatchObject({ enabled: false });
    expect(
      message({
        cmd: 'getSensorArgvRes',
        devType: '0201',
        channel: 0,
        address: 10,
        data: { enable: true, occpyTime: 30 },
      }),
    ).toMatchObject({ arguments: { occpyTime: 30 } });
    expect(
      message({ cmd: 'getDevParamRes', devType: '0102', channel: 0, address: 3, paramer: { cctWarm: 2700 } }),
    ).toMatchObject({ parameters: { cctWarm: 2700 } });
    expect(message({ cmd: 'writeDevRes', msgId: '1760000000-1', ack: true })).toEqual({
      cmd: 'writeDevRes',
      msgId: '1760000000-1',
      ack: true,
    });
    expect(message({ cmd: 'restartGatewayRes', msgId: 1760000000 })).toEqual({
      cmd: 'restartGatewayRes',
      msgId: '1760000000',
      ack: undefined,
    });
  });
});

describe('DALI Center inbound messages: refusals by kind', () => {
  it.each([
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 'invalid_utf8'],
    ['not JSON', 'devStatus 1 2 3', 'not_json'],
    ['an array', '[{"cmd": "devStatus"}]', 'not_object'],
    ['null', 'null', 'not_object'],
    ['no cmd', { data: {} }, 'missing_cmd'],
    ['a numeric cmd', { cmd: 5 }, 'missing_cmd'],
    ['an unknown cmd', { cmd: 'firmwareDebugInfo' }, 'unknown_cmd'],
    ['a cmd named like an Object method', { cmd: 'toString' }, 'unknown_cmd'],
    ["another gateway's message", { cmd: 'writeDevRes', gwSn: '0225020273AC', ack: true }, 'foreign_gateway'],
    ['devStatus without data', { cmd: 'devStatus' }, 'missing_field'],
    [
      'devStatus without devType',
      { cmd: 'devStatus', data: { channel: 0, address: 1, property: [] } },
      'missing_field',
    ],
    [
      'devStatus with a devType that is no code',
      { cmd: 'devStatus', data: { devType: 'lamp', channel: 0, address: 1, property: [] } },
      'out_of_range',
    ],
    ['devStatus with address 64', status('0101', 64, []), 'out_of_range'],
    [
      'devStatus with a text address',
      { cmd: 'devStatus', data: { devType: '0101', channel: 0, address: 'two', property: [] } },
      'wrong_type',
    ],
    [
      'devStatus without property',
      { cmd: 'devStatus', data: { devType: '0101', channel: 0, address: 1 } },
      'missing_field',
    ],
    [
      'devStatus with a property object',
      { cmd: 'devStatus', data: { devType: '0101', channel: 0, address: 1, property: {} } },
      'wrong_type',
    ],
    ['onlineStatus with data an object', { cmd: 'onlineStatus', data: {} }, 'wrong_type'],
    [
      'getVersionRes without fwVersion',
      { cmd: 'getVersionRes', data: { swVersion: '3.65' } },
      'missing_field',
    ],
    ['an ack that is a word', { cmd: 'writeDevRes', ack: 'maybe' }, 'wrong_type'],
  ])('%s', (_what, payload, kind) => {
    expect(refusal(payload)).toBe(kind);
  });

  it('light values out of range are dropped from the report, each named', () => {
    const result = parse(
      status('0103', 2, [
        { dpid: 20, value: 'on' },
        { dpid: 22, value: 1200 },
        { dpid: 23, value: 20 },
        { dpid: 24, value: 'red' },
        { dpid: 21, value: 300 },
        { dpid: 22, value: 10 },
      ]),
    );
    expect(result.ok && result.problems.map((found) => found.kind)).toEqual([
      'out_of_range',
      'out_of_range',
      'out_of_range',
      'out_of_range',
      'out_of_range',
    ]);
    expect(result.ok && result.message).toMatchObject({
      report: { kind: 'light', state: { brightness: 10 } },
    });
  });

  it('an unknown device type is kept with unknown_device_type; properties without a dpid are named', () => {
    expect(problemKinds(status('0999', 1, [{ value: 1 }, 'x', { dpid: 'a' }]))).toEqual([
      'unknown_device_type',
      'missing_field',
      'wrong_type',
      'wrong_type',
    ]);
  });
});

describe('DALI Center inbound parser fuzz', () => {
  const KINDS: DaliCenterProblemKind[] = [
    'invalid_utf8',
    'not_json',
    'not_object',
    'missing_cmd',
    'unknown_cmd',
    'missing_field',
    'wrong_type',
    'out_of_range',
    'unknown_device_type',
    'foreign_gateway',
  ];
  const random = seededRandom(1818);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const CMDS = [...INBOUND_CMDS, 'unknownRes', '__proto__', 'constructor'];
  const KEYS = [
    'cmd',
    'data',
    'devType',
    'channel',
    'address',
    'property',
    'dpid',
    'id',
    'value',
    'keyNo',
    'status',
    'searchStatus',
    'searchFlag',
    'group',
    'scene',
    'groupId',
    'sceneId',
    'device',
    'gwSn',
    'msgId',
    'ack',
    'swVersion',
    'fwVersion',
    'paramer',
    '__proto__',
  ];
  const leaf = (): unknown =>
    pick([
      0,
      1,
      -1,
      63,
      64,
      1000,
      1001,
      2.5,
      1e308,
      NaN,
      '',
      '0101',
      '0201',
      '0304',
      '0202',
      '3',
      'online',
      true,
      false,
      null,
      SN,
      'x'.repeat(300),
    ]);
  const value = (depth: number): unknown => {
    if (depth > 3 || random() < 0.4) return leaf();
    if (random() < 0.4) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
    return Object.fromEntries(
      Array.from({ length: Math.floor(random() * 6) }, () => [pick(KEYS), value(depth + 1)]),
    );
  };

  it('5000 structured random messages: never a throw, every refusal and dropped part has a known kind', () => {
    let accepted = 0;
    const seen = new Set<DaliCenterProblemKind>();
    for (let i = 0; i < 5000; i++) {
      const candidate = { ...(value(0) as object), cmd: pick(CMDS) };
      const result = parse(JSON.stringify(candidate));
      if (!result.ok) {
        expect(KINDS).toContain(result.problem.kind);
        seen.add(result.problem.kind);
      } else {
        accepted++;
        for (const found of result.problems) expect(KINDS).toContain(found.kind);
      }
    }
    // The generator reaches both sides: some messages pass, and refusals come in several kinds.
    expect(accepted).toBeGreaterThan(0);
    expect(seen.size).toBeGreaterThanOrEqual(4);
  });

  it('5000 random byte strings and mutated good messages: never a throw', () => {
    const good = Buffer.from(
      JSON.stringify(
        status('0102', 3, [
          { dpid: 20, value: true },
          { dpid: 22, value: 500 },
        ]),
      ),
    );
    for (let i = 0; i < 5000; i++) {
      let bytes: Buffer;
      if (i % 2 === 0)
        bytes = Buffer.from(
          Array.from({ length: Math.floor(random() * 200) }, () => Math.floor(random() * 256)),
        );
      else {
        bytes = Buffer.from(good);
        for (let flips = 1 + Math.floor(random() * 4); flips > 0; flips--)
          bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      const result = parseInbound(bytes, { gatewaySerial: SN });
      if (!result.ok) expect(KINDS).toContain(result.problem.kind);
    }
  });
});
