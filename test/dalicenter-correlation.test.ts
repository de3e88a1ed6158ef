import { describe, expect, it } from 'vitest';
import {
  answers,
  DeviceListGatherer,
  expectedReply,
  getVersion,
  type InboundMessage,
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
