import { describe, expect, it } from 'vitest';
import {
  answer,
  answerValue,
  BROADCAST,
  BROADCAST_UNADDRESSED,
  checkFirmwareVersion,
  compareFirmwareVersions,
  type DaliAddress,
  type DaliCommand,
  DaliError,
  dapc,
  decodeAddressByte,
  decodeDaliBytes,
  decodeForwardFrame,
  decodeGroups,
  decodeStatus,
  describeForwardFrame,
  dtr0,
  encodeAddressByte,
  encodeFirmwareVersionReport,
  encodeFirmwareVersionRequest,
  encodeResponseReport,
  encodeSendFrame,
  encodeSniffingRequest,
  encodeStatus,
  formatHex,
  gearCommand,
  groupAddress,
  initialise,
  INVALID_ANSWER,
  isYes,
  NO_ANSWER,
  parseHex,
  parseInReport,
  parseOutReport,
  randomise,
  SequenceCounter,
  shortAddress,
  type SimpleGearCommand,
  specialCommand,
  terminate,
} from '../src/drivers/dali/codec/index.js';
import { readVector, describeWithVectors } from './helpers/vectors.js';

// The DALI codec against python-dali's hasseb driver (the shared vectors: forward frames and the 10-byte
// OUT report for each command, four IN reports), and its own rules: addressing, opcodes, status bits,
// sequence numbers, firmware versions, and a DaliError naming the problem for every bad input.

interface CommandVector {
  name: string;
  python_dali: string;
  forward_frame_hex: string;
  send_twice: boolean;
  is_query: boolean;
  hasseb_out_report_10B_hex: string;
}

interface ResponseVector {
  in_report_10B_hex: string;
  meaning: string;
  python_dali_extract: string;
}

interface VectorFile {
  commands: CommandVector[];
  hasseb_responses: ResponseVector[];
}

/** A DaliError with this code whose message matches `message`. */
function expectDaliError(action: () => unknown, code: DaliError['code'], message: RegExp): void {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(DaliError);
  expect((thrown as DaliError).code).toBe(code);
  expect((thrown as DaliError).message).toMatch(message);
}

/** Builds the command a vector names: "DAPC short=5 level=254", "OFF broadcast", "DTR0 0x55". */
function commandFromVectorName(name: string): DaliCommand {
  const words: string[] = [];
  const params: Record<string, number> = {};
  let address: DaliAddress | undefined;
  let value: number | undefined;
  for (const token of name.split(' ')) {
    const [key, raw] = token.split('=');
    if (raw !== undefined && key !== undefined) params[key] = Number(raw);
    else if (token === 'broadcast') address = BROADCAST;
    else if (/^0x[0-9a-f]+$/i.test(token)) value = Number(token);
    else words.push(token);
  }
  if (params.short !== undefined) address = shortAddress(params.short);
  if (params.group !== undefined) address = groupAddress(params.group);
  const command = words.join(' ');
  switch (command) {
    case 'DAPC':
      return dapc(address ?? BROADCAST, params.level ?? -1);
    case 'GO TO SCENE':
      return gearCommand(address ?? BROADCAST, 'GO TO SCENE', params.scene ?? -1);
    case 'TERMINATE':
      return terminate();
    case 'DTR0':
      return dtr0(value ?? -1);
    case 'INITIALISE':
      return initialise(address === BROADCAST ? 'all' : 'unaddressed');
    case 'RANDOMISE':
      return randomise();
    default:
      if (address === undefined) throw new Error(`vector "${name}" has no address`);
      return gearCommand(address, command as SimpleGearCommand);
  }
}

describeWithVectors('python-dali hasseb vectors', 'dali', (dir) => {
  const vectors = JSON.parse(readVector(dir, 'dali_commands_hasseb.json')) as VectorFile;
  // The vectors were generated in one run, sequence numbers counting up from 1: so does ours.
  const counter = new SequenceCounter();
  const sequences = vectors.commands.map(() => counter.next());

  it('has the commands and responses this test expects', () => {
    expect(vectors.commands.length).toBeGreaterThanOrEqual(16);
    expect(vectors.hasseb_responses).toHaveLength(4);
  });

  vectors.commands.forEach((vector, index) => {
    it(`${vector.name}: forward frame, flags and OUT report equal python-dali's`, () => {
      const command = commandFromVectorName(vector.name);
      expect(formatHex(command.frame).replace(/ /g, '')).toBe(vector.forward_frame_hex);
      expect(command.sendTwice).toBe(vector.send_twice);
      expect(command.isQuery).toBe(vector.is_query);
      const out = encodeSendFrame(command, sequences[index] ?? 0);
      expect(formatHex(out)).toBe(vector.hasseb_out_report_10B_hex);

      // And back: the OUT report parses to the same frame and flags, the frame to the same command.
      const parsed = parseOutReport(parseHex(vector.hasseb_out_report_10B_hex));
      expect(parsed).toMatchObject({ kind: 'send_frame', sequence: index + 1, expectReply: vector.is_query });
      const decoded = decodeForwardFrame(parseHex(vector.forward_frame_hex));
      expect(decoded.name).toBe(command.name);
      expect(decoded.sendTwice).toBe(vector.send_twice);
      expect(decoded.isQuery).toBe(vector.is_query);
      expect(decodeDaliBytes(out).type).toBe('hasseb_out');
    });
  });

  for (const vector of vectors.hasseb_responses) {
    it(`IN report ${vector.in_report_10B_hex} is classified like python-dali (${vector.python_dali_extract})`, () => {
      const report = parseInReport(parseHex(vector.in_report_10B_hex));
      const extract = vector.python_dali_extract;
      if (extract.includes('BackwardFrameError')) {
        expect(report).toEqual({
          kind: 'response',
          sequence: 9,
          status: 'invalid_answer',
          reply: INVALID_ANSWER,
        });
      } else if (extract.includes('BackwardFrame')) {
        const value = Number(/0x([0-9A-F]{2})/i.exec(vector.meaning)?.[0]);
        expect(report).toEqual({ kind: 'response', sequence: 7, status: 'ok', reply: answer(value) });
      } else if (extract === 'NO_ANSWER') {
        expect(report).toEqual({ kind: 'response', sequence: 8, status: 'no_answer', reply: NO_ANSWER });
      } else {
        expect(extract).toBe('NO DATA AVAILABLE');
        expect(report).toEqual({ kind: 'no_data' });
      }
      expect(decodeDaliBytes(parseHex(vector.in_report_10B_hex)).type).toBe('hasseb_in');
    });
  }
});

describe('DALI addressing', () => {
  it('encodes every short address as 0AAAAAAS', () => {
    for (let address = 0; address < 64; address++) {
      expect(encodeAddressByte(shortAddress(address), false)).toBe(address << 1);
      expect(encodeAddressByte(shortAddress(address), true)).toBe((address << 1) | 1);
    }
  });

  it('encodes every group as 100GGGGS, broadcast as 1111111S and unaddressed broadcast as 1111110S', () => {
    for (let group = 0; group < 16; group++) {
      expect(encodeAddressByte(groupAddress(group), false)).toBe(0x80 | (group << 1));
      expect(encodeAddressByte(groupAddress(group), true)).toBe(0x81 | (group << 1));
    }
    expect([encodeAddressByte(BROADCAST, false), encodeAddressByte(BROADCAST, true)]).toEqual([0xfe, 0xff]);
    expect(encodeAddressByte(BROADCAST_UNADDRESSED, true)).toBe(0xfd);
  });

  it('decodes every address byte back to itself, and none for special and reserved bytes', () => {
    let addresses = 0;
    for (let byte = 0; byte < 256; byte++) {
      const decoded = decodeAddressByte(byte);
      if (decoded === undefined) {
        expect(byte >= 0xa0 && byte <= 0xfb).toBe(true);
        continue;
      }
      addresses += 1;
      expect(encodeAddressByte(decoded.address, decoded.command)).toBe(byte);
    }
    expect(addresses).toBe(128 + 32 + 2 + 2);
  });

  it('refuses addresses out of range, naming the field and the value', () => {
    expectDaliError(
      () => shortAddress(64),
      'bad_argument',
      /short address must be a whole number 0-63, got 64/,
    );
    expectDaliError(() => shortAddress(-1), 'bad_argument', /got -1/);
    expectDaliError(() => shortAddress(1.5), 'bad_argument', /got 1.5/);
    expectDaliError(() => groupAddress(16), 'bad_argument', /group must be a whole number 0-15, got 16/);
  });
});

describe('DALI commands', () => {
  const five = shortAddress(5);
  const opcodes: [SimpleGearCommand, number, boolean][] = [
    ['OFF', 0x00, false],
    ['UP', 0x01, false],
    ['DOWN', 0x02, false],
    ['RECALL MAX LEVEL', 0x05, false],
    ['RECALL MIN LEVEL', 0x06, false],
    ['RESET', 0x20, true],
    ['SET MAX LEVEL', 0x2a, true],
    ['SET MIN LEVEL', 0x2b, true],
    ['QUERY STATUS', 0x90, false],
    ['QUERY CONTROL GEAR PRESENT', 0x91, false],
    ['QUERY PHYSICAL MINIMUM', 0x9a, false],
    ['QUERY ACTUAL LEVEL', 0xa0, false],
    ['QUERY MAX LEVEL', 0xa1, false],
    ['QUERY MIN LEVEL', 0xa2, false],
    ['QUERY GROUPS 0-7', 0xc0, false],
    ['QUERY GROUPS 8-15', 0xc1, false],
  ];

  for (const [name, opcode, twice] of opcodes) {
    it(`${name} is opcode ${opcode.toString(16)}${twice ? ', sent twice' : ''}`, () => {
      const command = gearCommand(five, name);
      expect([...command.frame]).toEqual([0x0b, opcode]);
      expect(command.sendTwice).toBe(twice);
      expect(command.isQuery).toBe(name.startsWith('QUERY'));
      expect(decodeForwardFrame(command.frame)).toMatchObject({
        kind: 'command',
        name,
        opcode,
        address: five,
      });
    });
  }

  it('numbers scenes and groups in the low nibble; group and scene configuration is sent twice', () => {
    expect([...gearCommand(five, 'GO TO SCENE', 15).frame]).toEqual([0x0b, 0x1f]);
    const add = gearCommand(groupAddress(2), 'ADD TO GROUP', 7);
    expect([...add.frame]).toEqual([0x85, 0x67]);
    expect(add.sendTwice).toBe(true);
    expect(gearCommand(five, 'REMOVE FROM GROUP', 0).sendTwice).toBe(true);
    expect(gearCommand(five, 'SET SCENE', 3).sendTwice).toBe(true);
    expect(gearCommand(five, 'GO TO SCENE', 3).sendTwice).toBe(false);
    expect(decodeForwardFrame(add.frame)).toMatchObject({
      name: 'ADD TO GROUP',
      index: 7,
      address: { kind: 'group', group: 2 },
    });
    expect(describeForwardFrame(decodeForwardFrame(add.frame))).toBe('ADD TO GROUP 7 to group 2');
  });

  it('builds DAPC and special commands', () => {
    expect([...dapc(groupAddress(15), 254).frame]).toEqual([0x9e, 0xfe]);
    expect(describeForwardFrame(decodeForwardFrame(dapc(five, 0).frame))).toBe('DAPC 0 to short 5');
    expect([...initialise('unaddressed').frame]).toEqual([0xa5, 0xff]);
    expect([...initialise(9).frame]).toEqual([0xa5, 0x13]);
    expect(specialCommand('COMPARE').isQuery).toBe(true);
    expect(specialCommand('PROGRAM SHORT ADDRESS', 0x13).sendTwice).toBe(false);
    expect(decodeForwardFrame(Buffer.from([0xa3, 0x55]))).toMatchObject({
      kind: 'special',
      name: 'DTR0',
      data: 0x55,
    });
  });

  it('names reserved and device-type opcodes and reserved address bytes instead of refusing them', () => {
    expect(decodeForwardFrame(Buffer.from([0xff, 0x0f]))).toMatchObject({
      name: 'RESERVED 0F',
      known: false,
    });
    expect(decodeForwardFrame(Buffer.from([0x01, 0xe7]))).toMatchObject({
      name: 'APPLICATION EXTENDED COMMAND E7',
    });
    expect(decodeForwardFrame(Buffer.from([0xa0, 0x00]))).toMatchObject({ kind: 'reserved' });
  });

  it('refuses bad arguments and frames with a DaliError saying what is wrong', () => {
    expectDaliError(
      () => dapc(five, 256),
      'bad_argument',
      /DAPC level must be a whole number 0-255, got 256/,
    );
    expectDaliError(
      () => gearCommand(five, 'GO TO SCENE', 16),
      'bad_argument',
      /GO TO SCENE scene .*0-15, got 16/,
    );
    expectDaliError(
      () => (gearCommand as (a: DaliAddress, n: string) => DaliCommand)(five, 'ADD TO GROUP'),
      'bad_argument',
      /ADD TO GROUP needs a group number/,
    );
    expectDaliError(
      () => (gearCommand as (a: DaliAddress, n: string) => DaliCommand)(five, 'DIM A BIT'),
      'bad_argument',
      /unknown DALI command "DIM A BIT"/,
    );
    expectDaliError(() => dtr0(300), 'bad_argument', /DTR0 data .*got 300/);
    expectDaliError(() => decodeForwardFrame(Buffer.alloc(0)), 'empty', /no bytes/);
    expectDaliError(() => decodeForwardFrame(Buffer.from([1])), 'bad_length', /2 bytes .*got 1/);
    expectDaliError(() => decodeForwardFrame(Buffer.from([1, 2, 3])), 'bad_length', /24-bit frames/);
  });
});

describe('backward frames and status', () => {
  it('keeps answer, no answer and invalid answer apart', () => {
    expect(isYes(answer(0xff))).toBe(true);
    expect(isYes(NO_ANSWER)).toBe(false);
    expect(isYes(INVALID_ANSWER)).toBe(true); // several gear said YES at once
    expect(answerValue(answer(7), 'QUERY ACTUAL LEVEL')).toBe(7);
    expectDaliError(
      () => answerValue(NO_ANSWER, 'QUERY ACTUAL LEVEL'),
      'bad_report',
      /QUERY ACTUAL LEVEL: no answer/,
    );
    expectDaliError(() => answerValue(INVALID_ANSWER, 'QUERY STATUS'), 'bad_report', /invalid answer/);
  });

  it('decodes QUERY STATUS bit by bit', () => {
    expect(decodeStatus(0b1000_0100)).toEqual({
      controlGearFailure: false,
      lampFailure: false,
      lampOn: true,
      limitError: false,
      fadeRunning: false,
      resetState: false,
      missingShortAddress: false,
      powerFailure: true,
    });
    expect(decodeStatus(0b0110_1011)).toMatchObject({
      controlGearFailure: true,
      lampFailure: true,
      limitError: true,
      resetState: true,
      missingShortAddress: true,
    });
    for (let byte = 0; byte < 256; byte++) expect(encodeStatus(decodeStatus(byte))).toBe(byte);
  });

  it('decodes the group answers', () => {
    expect(decodeGroups(0b0000_0101, 0b1000_0000)).toEqual([0, 2, 15]);
    expect(decodeGroups(0, 0)).toEqual([]);
  });
});

describe('hasseb reports', () => {
  it('counts sequence numbers 1-255 and wraps to 1, never 0', () => {
    const counter = new SequenceCounter();
    const seen = Array.from({ length: 600 }, () => counter.next());
    expect(seen.slice(0, 3)).toEqual([1, 2, 3]);
    expect(seen.slice(253, 257)).toEqual([254, 255, 1, 2]);
    expect(seen).not.toContain(0);
    expect(new SequenceCounter(255).next()).toBe(1);
    expectDaliError(
      () => encodeSendFrame(dapc(BROADCAST, 1), 0),
      'bad_argument',
      /sequence number must be .*1-255, got 0/,
    );
    expectDaliError(() => encodeSendFrame(dapc(BROADCAST, 1), 256), 'bad_argument', /got 256/);
  });

  it('asks for and reads the firmware version, and switches sniffing', () => {
    expect(formatHex(encodeFirmwareVersionRequest(4))).toBe('AA 02 04 00 00 00 00 00 00 00');
    expect(formatHex(encodeSniffingRequest(false, 5))).toBe('AA 05 05 00 00 00 00 00 00 00');
    const answer = encodeFirmwareVersionReport(4, { major: 2, minor: 5 });
    expect(formatHex(answer)).toBe('AA 02 04 02 05 00 00 00 00 00');
    expect(parseInReport(answer)).toEqual({ kind: 'firmware', sequence: 4, version: { major: 2, minor: 5 } });
    expect(decodeDaliBytes(answer)).toMatchObject({
      type: 'hasseb_in',
      description: 'firmware version 2.5 (sequence 4)',
    });
    expect(decodeDaliBytes(encodeFirmwareVersionRequest(4))).toMatchObject({ type: 'hasseb_out' });
  });

  it('checks the firmware version, naming the version found and the one needed', () => {
    expect(checkFirmwareVersion({ major: 2, minor: 3 })).toEqual({ major: 2, minor: 3 });
    expect(() => checkFirmwareVersion({ major: 2, minor: 10 })).not.toThrow();
    expect(() => checkFirmwareVersion({ major: 3, minor: 0 })).not.toThrow();
    expect(compareFirmwareVersions({ major: 2, minor: 10 }, { major: 2, minor: 9 })).toBeGreaterThan(0);
    expectDaliError(
      () => checkFirmwareVersion({ major: 1, minor: 4 }),
      'firmware_too_old',
      /firmware 1\.4 is too old: fieldbridge needs 2\.3 or newer/,
    );
    expectDaliError(() => checkFirmwareVersion({ major: 2, minor: 2 }), 'firmware_too_old', /2\.2 .*2\.3/);
  });

  it('encodes each response kind the way it parses', () => {
    for (const reply of [answer(0), answer(0xfe), NO_ANSWER, INVALID_ANSWER]) {
      const report = encodeResponseReport(42, reply);
      expect(parseInReport(report)).toMatchObject({ kind: 'response', sequence: 42, reply });
    }
  });

  it('reads the statuses python-dali does not turn into a backward frame', () => {
    expect(parseInReport(parseHex('AA 07 03 04 00 00 00 00 00 00'))).toMatchObject({
      status: 'too_early',
      reply: INVALID_ANSWER,
    });
    expect(parseInReport(parseHex('AA 07 00 05 01 42 00 00 00 00'))).toMatchObject({
      status: 'sniffer_byte',
      sequence: 0,
      reply: answer(0x42),
    });
    expect(parseInReport(parseHex('AA 07 00 06 00 00 00 00 00 00'))).toMatchObject({
      status: 'sniffer_byte_error',
    });
  });

  it('refuses malformed IN reports with a DaliError saying what is wrong', () => {
    expectDaliError(() => parseInReport(Buffer.alloc(0)), 'empty', /no bytes/);
    expectDaliError(
      () => parseInReport(parseHex('AA 07 07 02 01 FE 00 00 00')),
      'bad_length',
      /10 bytes, got 9/,
    );
    expectDaliError(
      () => parseInReport(parseHex('AB 07 07 02 01 FE 00 00 00 00')),
      'bad_preamble',
      /starts with AB, expected AA/,
    );
    expectDaliError(
      () => parseInReport(parseHex('AA 09 07 02 01 FE 00 00 00 00')),
      'unknown_report',
      /report type 09/,
    );
    expectDaliError(
      () => parseInReport(parseHex('AA 07 07 09 01 FE 00 00 00 00')),
      'bad_report',
      /transmission status 09/,
    );
    expectDaliError(
      () => parseInReport(parseHex('AA 07 07 02 00 00 00 00 00 00')),
      'bad_report',
      /0 data bytes, expected 1/,
    );
  });

  it('refuses malformed OUT reports', () => {
    expectDaliError(
      () => parseOutReport(parseHex('AA 07 00 10 00 00 00 0A FE 00')),
      'bad_report',
      /sequence number 0/,
    );
    expectDaliError(
      () => parseOutReport(parseHex('AA 07 01 18 00 00 00 0A FE 00')),
      'bad_report',
      /24-bit frame/,
    );
    expectDaliError(
      () => parseOutReport(parseHex('AA 03 01 00 00 00 00 00 00 00')),
      'unknown_report',
      /OUT command 03/,
    );
    expectDaliError(
      () => parseOutReport(parseHex('AA 07 01 10 02 00 00 0A FE 00')),
      'bad_report',
      /expect-reply flag is 02/,
    );
  });
});

describe('decodeDaliBytes and parseHex', () => {
  it('decodes a forward frame and tells OUT from IN reports', () => {
    expect(decodeDaliBytes(parseHex('0BA0'))).toMatchObject({
      type: 'forward_frame',
      description: 'QUERY ACTUAL LEVEL to short 5',
    });
    const out = decodeDaliBytes(parseHex('AA 07 0F 10 00 00 0A A5 00 00'));
    expect(out).toMatchObject({
      type: 'hasseb_out',
      report: { kind: 'send_frame', sendTwiceIntervalMs: 10, frame: { name: 'INITIALISE' } },
    });
    expect(decodeDaliBytes(parseHex('AA 00 00 00 00 00 00 00 00 00'))).toMatchObject({
      type: 'hasseb_in',
      report: { kind: 'no_data' },
    });
  });

  it('refuses what it cannot read', () => {
    expectDaliError(
      () => decodeDaliBytes(parseHex('01 02 03')),
      'bad_length',
      /2 bytes\) or a hasseb report \(10 bytes\), got 3/,
    );
    expectDaliError(
      () => decodeDaliBytes(parseHex('AA 07 01 20 00 00 00 00 00 00')),
      'bad_report',
      /byte 3 = 20/,
    );
    expectDaliError(
      () => decodeDaliBytes(parseHex('55 07 01 10 00 00 00 00 00 00')),
      'bad_preamble',
      /expected AA/,
    );
    expectDaliError(() => parseHex('0G'), 'bad_argument', /"G" is not a hex digit/);
    expectDaliError(() => parseHex('0B A'), 'bad_argument', /odd number of hex digits \(3\)/);
    expectDaliError(() => parseHex('  '), 'empty', /no bytes/);
  });
});
