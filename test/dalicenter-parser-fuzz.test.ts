import { describe, expect, it } from 'vitest';
import {
  type DaliCenterProblemKind,
  INBOUND_CMDS,
  parseInbound,
} from '../src/drivers/dalicenter/codec/index.js';
import { seededRandom } from '../src/drivers/shared/random.js';
import { parse, problemKinds, refusal, SN, status } from './helpers/daliCenterParse.js';

// The inbound parser against garbage: every refusal has a named kind (so the runtime logs each kind
// once), a bad part of a good message is dropped and named, and nothing ever throws.

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
