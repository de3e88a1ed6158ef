import { describe, expect, it } from 'vitest';
import { motionBinaryStates } from '../src/drivers/dalicenter/codec/index.js';
import { message, parse, problemKinds, refusal, SN, status } from './helpers/daliCenterParse.js';

// The inbound parser against the notes' message shapes (§6, all [constructed] there from the SDK's parsing
// code; no captured payload exists).

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
