import { describe, expect, it } from 'vitest';
import {
  answers,
  DeviceListGatherer,
  expectedReply,
  getDeviceParameters,
  getSensorArguments,
  getSensorOnOff,
  getVersion,
  type InboundMessage,
  readDevices,
  readGroup,
  readScene,
  searchCachedDevices,
  startBusScan,
  writeScene,
} from '../src/drivers/dalicenter/codec/index.js';
import { message } from './helpers/daliCenterParse.js';

// Matching replies to requests (msgId when echoed, else cmd and key, notes §4.1) and gathering the
// device list across searchDevRes messages (notes §6.3).

const device = (address: number) => ({ devType: '0101', channel: 0, address, status: 'online' });
const search = (searchFlag: string, searchStatus: number, addresses?: number[]): InboundMessage =>
  message({
    cmd: 'searchDevRes',
    searchFlag,
    searchStatus,
    ...(addresses ? { data: addresses.map(device) } : {}),
  });

describe('DALI Center reply matching', () => {
  it('by msgId when the reply echoes one', () => {
    const reply = expectedReply(getVersion())!;
    const version = message({
      cmd: 'getVersionRes',
      msgId: '5-1',
      data: { swVersion: '3.72', fwVersion: '1.47' },
    });
    expect(answers(version, reply, '5-1')).toBe(true);
    expect(answers(version, reply, '5-2')).toBe(false);
    expect(answers(message({ cmd: 'writeSceneRes', msgId: '5-1', ack: true }), reply, '5-1')).toBe(false);
  });

  it('by cmd, and readGroup/readScene by their key, when it does not', () => {
    const group = message({ cmd: 'readGroupRes', groupId: 1, name: 'Office', channel: 0, data: [] });
    expect(answers(group, expectedReply(readGroup(0, 1))!, '9-1')).toBe(true);
    expect(answers(group, expectedReply(readGroup(0, 2))!, '9-1')).toBe(false);
    const scene = message({
      cmd: 'readSceneRes',
      sceneId: 2,
      name: 'Evening',
      channel: 0,
      data: { device: [] },
    });
    expect(answers(scene, expectedReply(readScene(0, 2))!, '9-1')).toBe(true);
    expect(answers(scene, expectedReply(readScene(1, 2))!, '9-1')).toBe(false);
    expect(
      answers(message({ cmd: 'writeSceneRes', ack: true }), expectedReply(writeScene(0, 2))!, '9-1'),
    ).toBe(true);
  });

  it("a read about a device by that device: two reads outstanding never take each other's answers", () => {
    const lamp = (address: number) => ({ devType: '0102', channel: 0, address });
    const parameters = (address: number, msgId?: string) =>
      message({
        cmd: 'getDevParamRes',
        ...lamp(address),
        ...(msgId !== undefined ? { msgId } : {}),
        paramer: { colourTempMin: 2700 },
      });
    const forLamp1 = expectedReply(getDeviceParameters(lamp(1)))!;
    const forLamp2 = expectedReply(getDeviceParameters(lamp(2)))!;
    // Without a msgId echo (unverified), the device tells the two apart.
    expect(answers(parameters(2), forLamp1, '7-1')).toBe(false);
    expect(answers(parameters(2), forLamp2, '7-2')).toBe(true);
    // A msgId that matches does not make an answer about another device one.
    expect(answers(parameters(2, '7-1'), forLamp1, '7-1')).toBe(false);
    expect(answers(parameters(1, '7-1'), forLamp1, '7-1')).toBe(true);
    const sensor = { devType: '0201', channel: 1, address: 10 };
    const argv = message({ cmd: 'getSensorArgvRes', ...sensor, data: { coverage: 50 } });
    expect(answers(argv, expectedReply(getSensorArguments(sensor))!, 'x')).toBe(true);
    expect(answers(argv, expectedReply(getSensorArguments({ ...sensor, channel: 0 }))!, 'x')).toBe(false);
    const onOff = message({ cmd: 'getSensorOnOffRes', ...sensor, value: true });
    expect(answers(onOff, expectedReply(getSensorOnOff({ ...sensor, address: 11 }))!, 'x')).toBe(false);
    const status = message({
      cmd: 'readDevRes',
      data: { ...lamp(3), property: [{ dpid: 20, value: true }] },
    });
    expect(answers(status, expectedReply(readDevices([lamp(3), lamp(4)]))!, 'x')).toBe(true);
    expect(answers(status, expectedReply(readDevices([lamp(4)]))!, 'x')).toBe(false);
  });

  it('a search by its flag, whatever msgId its messages carry', () => {
    const cached = expectedReply(searchCachedDevices())!;
    expect(answers(search('exited', 1, [1]), cached, 'x')).toBe(true);
    expect(answers(search('busDevice', 2), cached, 'x')).toBe(false);
    expect(answers(search('busDevice', 2), expectedReply(startBusScan([0]))!, 'x')).toBe(true);
  });
});

describe('DALI Center device list gathering', () => {
  it('the cached list: batches de-duplicated until status 1', () => {
    const gatherer = new DeviceListGatherer('exited');
    expect(gatherer.add(search('exited', 3, [1, 2]))).toMatchObject({
      kind: 'batch',
      added: [{ address: 1 }, { address: 2 }],
    });
    expect(gatherer.add(search('exited', 3, [2, 3]))).toMatchObject({
      kind: 'batch',
      added: [{ address: 3 }],
    });
    expect(gatherer.finished).toBe(false);
    const done = gatherer.add(search('exited', 1, [4]));
    expect(done?.kind).toBe('finished');
    expect(gatherer.list().map((found) => found.address)).toEqual([1, 2, 3, 4]);
    expect(gatherer.finished).toBe(true);
  });

  it('a bus scan: scanning, batches, then 0 (nothing) or 1; other messages are not its business', () => {
    const gatherer = new DeviceListGatherer('busDevice');
    expect(gatherer.add(search('busDevice', 2))).toEqual({ kind: 'scanning' });
    expect(gatherer.add(search('exited', 1, [9]))).toEqual({ kind: 'other_search' });
    expect(gatherer.add(message({ cmd: 'writeDevRes', ack: true }))).toBeUndefined();
    expect(gatherer.add(search('busDevice', 3, [7]))).toMatchObject({ kind: 'batch' });
    expect(gatherer.add(search('busDevice', 1, []))).toMatchObject({
      kind: 'finished',
      devices: [{ address: 7 }],
    });
    const empty = new DeviceListGatherer('busDevice');
    expect(empty.add(search('busDevice', 0, []))).toEqual({ kind: 'finished', devices: [] });
  });
});
