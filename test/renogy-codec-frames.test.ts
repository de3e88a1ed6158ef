import { describe, expect, it } from 'vitest';
import {
  crc16Modbus,
  decodeRequest,
  encodeException,
  encodeRequest,
  readHoldingRegisters,
  ResponseAssembler,
  RenogyError,
  writeSingleRegister,
  type AssemblyResult,
  type ModbusRequest,
} from '../src/drivers/renogy/codec/index.js';
import { formatHex } from '../src/drivers/shared/hex.js';
import {
  bytes,
  CAPTURED_RESPONSES,
  EXCEPTION_ANSWER,
  EXCEPTION_REQUEST,
  ROVER_DYNAMIC,
} from './helpers/renogyFrames.js';

// The Modbus layer of the Renogy codec against the protocol notes (/work/shared/research/renogy.md):
// CRC-16/MODBUS, the request frames of §7.1 byte for byte, and the reassembly of the captured answers of
// §7.2 from BLE notifications, with every way an answer can be wrong.

const hex = (frame: Uint8Array): string => formatHex(frame);

describe('CRC-16/MODBUS (§2.2)', () => {
  it('gives the check value of the notes: FF 03 01 00 00 22 -> 0xF1D1 (sent D1 F1)', () => {
    expect(crc16Modbus(bytes('ff 03 01 00 00 22'))).toBe(0xf1d1);
  });

  it('is the standard CRC-16/MODBUS (catalogue check value of "123456789" is 0x4B37)', () => {
    expect(crc16Modbus(Buffer.from('123456789', 'ascii'))).toBe(0x4b37);
  });
});

describe('requests (§7.1, byte-exact)', () => {
  const read = (id: number, register: number, count: number): string =>
    hex(encodeRequest(readHoldingRegisters(id, register, count)));
  const cases: [string, number, number, number, string][] = [
    ['controller model (12, 8), seen in #78', 0xff, 12, 8, 'FF 03 00 0C 00 08 91 D1'],
    ['controller address (26, 1), seen in #78', 0xff, 26, 1, 'FF 03 00 1A 00 01 B0 13'],
    ['controller dynamic (256, 34), seen in README and #78', 0xff, 256, 34, 'FF 03 01 00 00 22 D1 F1'],
    ['battery type (0xE004, 1), seen in #78', 0xff, 0xe004, 1, 'FF 03 E0 04 00 01 E7 D5'],
    ['dynamic block, hub id 0x61', 0x61, 0x0100, 34, '61 03 01 00 00 22 CD 8F'],
    ['dynamic block, id 0x11', 0x11, 0x0100, 34, '11 03 01 00 00 22 C6 BF'],
    ['dynamic block, id 0x10', 0x10, 0x0100, 34, '10 03 01 00 00 22 C7 6E'],
    ['DCC (256, 30)', 0xff, 256, 30, 'FF 03 01 00 00 1E D1 E0'],
    ['DCC (288, 3)', 0xff, 288, 3, 'FF 03 01 20 00 03 10 23'],
    ['DCC renogy-ble (256, 32)', 0xff, 256, 32, 'FF 03 01 00 00 20 50 30'],
    ['DCC renogy-ble (288, 8)', 0xff, 288, 8, 'FF 03 01 20 00 08 51 E4'],
    ['DCC renogy-ble (0xE001, 1)', 0xff, 0xe001, 1, 'FF 03 E0 01 00 01 F7 D4'],
    ['DCC renogy-ble (0xE003, 18)', 0xff, 0xe003, 18, 'FF 03 E0 03 00 12 17 D9'],
    ['DCC30S (0x0100, 7), seen (neilsheps)', 0xff, 0x0100, 7, 'FF 03 01 00 00 07 10 2A'],
    ['battery cells (5000, 17), seen #99/#108', 0xff, 5000, 17, 'FF 03 13 88 00 11 14 B6'],
    ['battery temperatures (5017, 17)', 0xff, 5017, 17, 'FF 03 13 99 00 11 44 B3'],
    ['battery pack (5042, 6)', 0xff, 5042, 6, 'FF 03 13 B2 00 06 74 B5'],
    ['battery model (5122, 8)', 0xff, 5122, 8, 'FF 03 14 02 00 08 F5 E2'],
    ['battery address (5223, 1)', 0xff, 5223, 1, 'FF 03 14 67 00 01 25 FB'],
    ['battery id 0x30 cells, seen #34', 0x30, 5000, 17, '30 03 13 88 00 11 05 49'],
    ['battery id 0x30 pack, seen Olen #18', 0x30, 5042, 6, '30 03 13 B2 00 06 65 4A'],
    ['battery renogy-ble device info (0x13F0, 28)', 0xff, 0x13f0, 28, 'FF 03 13 F0 00 1C 55 6A'],
    ['battery renogy-ble pack (0x13B2, 7)', 0xff, 0x13b2, 7, 'FF 03 13 B2 00 07 B5 75'],
    ['battery renogy-ble cells (0x1388, 34)', 0xff, 0x1388, 34, 'FF 03 13 88 00 22 54 A3'],
    ['battery renogy-ble MOSFET (0x13EC, 8)', 0xff, 0x13ec, 8, 'FF 03 13 EC 00 08 94 A3'],
    ['inverter 4000 × 10', 0x20, 4000, 10, '20 03 0F A0 00 0A C0 4A'],
    ['inverter 4109 × 1', 0x20, 4109, 1, '20 03 10 0D 00 01 17 B8'],
    ['inverter 4311 × 8', 0x20, 4311, 8, '20 03 10 D7 00 08 F6 45'],
    ['inverter 4327 × 7', 0x20, 4327, 7, '20 03 10 E7 00 07 B6 4E'],
    ['inverter 4408 × 6', 0x20, 4408, 6, '20 03 11 38 00 06 47 88'],
    ['history today', 0xff, 0xf000, 10, 'FF 03 F0 00 00 0A E3 13'],
    ['history 6 days ago', 0xff, 0xf006, 10, 'FF 03 F0 06 00 0A 03 12'],
    ["the exception capture's request (renogy-bt #15)", 0x30, 0x0088, 30, '30 03 00 88 00 1E 41 C9'],
  ];
  it.each(cases)('%s', (_name, id, register, count, expected) => {
    expect(read(id, register, count)).toBe(expected);
    expect(decodeRequest(bytes(expected))).toEqual(readHoldingRegisters(id, register, count));
  });

  it('encodes the load switch writes (§4.2): ON FF 06 01 0A 00 01 7C 2A, OFF FF 06 01 0A 00 00 BD EA', () => {
    expect(hex(encodeRequest(writeSingleRegister(0xff, 0x010a, 1)))).toBe('FF 06 01 0A 00 01 7C 2A');
    expect(hex(encodeRequest(writeSingleRegister(0xff, 0x010a, 0)))).toBe('FF 06 01 0A 00 00 BD EA');
  });

  it('refuses arguments out of range, naming them', () => {
    expect(() => readHoldingRegisters(256, 0, 1)).toThrow(/device id must be a whole number 0-255, got 256/);
    expect(() => readHoldingRegisters(0xff, 0x10000, 1)).toThrow(/register must be/);
    expect(() => readHoldingRegisters(0xff, 0, 0)).toThrow(/register count must be a whole number 1-125/);
    expect(() => readHoldingRegisters(0xff, 0xfff0, 17)).toThrow(/pass 0xFFFF/);
    expect(() => writeSingleRegister(0xff, 0x010a, 0x10000)).toThrow(RenogyError);
  });

  it('refuses a logged request with a bad CRC, a wrong length or another function', () => {
    expect(() => decodeRequest(bytes('FF 03 01 00 00 22 D1 F0'))).toThrow(
      /CRC 0xF0D1 is wrong \(computed 0xF1D1\)/,
    );
    expect(() => decodeRequest(bytes('FF 03 01 00 00 22'))).toThrow(/a request is 8 bytes, got 6/);
    expect(() => decodeRequest(bytes('6d 61 69 6e 20 72 65 63'))).toThrow(/CRC/);
  });
});

/** Feeds `pieces` and returns the result after the last. */
function assemble(request: ModbusRequest, pieces: readonly Uint8Array[]): AssemblyResult {
  const assembler = new ResponseAssembler(request);
  let result: AssemblyResult = assembler.result;
  for (const piece of pieces) result = assembler.push(piece);
  return result;
}

function chunks(frame: Buffer, size: number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < frame.length; offset += size)
    pieces.push(frame.subarray(offset, offset + size));
  return pieces;
}

describe('reassembly of the captured answers (§1.4, §7.2)', () => {
  describe.each(CAPTURED_RESPONSES)('$source', ({ hex: frameHex, deviceId, register, count }) => {
    const frame = bytes(frameHex);
    const request = readHoldingRegisters(deviceId, register, count);

    it('completes from 20-byte notifications, and from pieces of every size', () => {
      for (let size = 1; size <= frame.length; size++) {
        const result = assemble(request, chunks(frame, size));
        expect(result.status, `pieces of ${size}`).toBe('complete');
        if (result.status === 'complete') {
          expect(result.frame).toEqual(frame);
          expect(result.response).toMatchObject({ kind: 'read', deviceId, words: expect.any(Array) });
        }
      }
    });

    it('completes whatever two pieces it is split into, and is incomplete before the last byte', () => {
      for (let cut = 0; cut <= frame.length; cut++) {
        expect(assemble(request, [frame.subarray(0, cut), frame.subarray(cut)]).status, `cut at ${cut}`).toBe(
          'complete',
        );
      }
      const assembler = new ResponseAssembler(request);
      for (let index = 0; index < frame.length - 1; index++) {
        const result = assembler.push(frame.subarray(index, index + 1));
        expect(result.status).toBe('incomplete');
        if (index >= 2) expect(result).toMatchObject({ expected: frame.length, received: index + 1 });
      }
      expect(assembler.push(frame.subarray(frame.length - 1)).status).toBe('complete');
    });

    it('fails on every single-bit corruption of every byte (bad_crc past the header)', () => {
      for (let index = 0; index < frame.length; index++) {
        for (let bit = 0; bit < 8; bit++) {
          const corrupt = Buffer.from(frame);
          corrupt[index] = (corrupt[index] ?? 0) ^ (1 << bit);
          const result = assemble(request, chunks(corrupt, 20));
          expect(result.status, `byte ${index} bit ${bit}`).toBe('failed');
          if (index >= 3 && result.status === 'failed') expect(result.problem.kind).toBe('bad_crc');
        }
      }
    });
  });

  it('takes a 73-byte answer as the 20+20+20+13 notifications the notes describe', () => {
    const pieces = chunks(bytes(ROVER_DYNAMIC), 20);
    expect(pieces.map((piece) => piece.length)).toEqual([20, 20, 20, 13]);
    expect(assemble(readHoldingRegisters(0xff, 0x0100, 34), pieces).status).toBe('complete');
  });
});

describe('answers that are not the one expected', () => {
  const dynamic = readHoldingRegisters(0xff, 0x0100, 34);
  const problem = (request: ModbusRequest, pieces: readonly Uint8Array[]) => {
    const result = assemble(request, pieces);
    expect(result.status).toBe('failed');
    return result.status === 'failed' ? result.problem : undefined;
  };

  it('types the captured exception: slave 0x30, code 2 illegal_data_address (§7.2.10)', () => {
    const result = assemble(decodeRequest(bytes(EXCEPTION_REQUEST)), [bytes(EXCEPTION_ANSWER)]);
    expect(result).toMatchObject({
      status: 'complete',
      response: {
        kind: 'exception',
        deviceId: 0x30,
        function: 0x03,
        code: 2,
        codeName: 'illegal_data_address',
      },
    });
  });

  it('types an exception to a write (0x86) and names every standard code', () => {
    const write = writeSingleRegister(0xff, 0x010a, 1);
    expect(assemble(write, [encodeException(0xff, 0x06, 4)])).toMatchObject({
      status: 'complete',
      response: { kind: 'exception', function: 0x06, code: 4, codeName: 'server_device_failure' },
    });
    expect(assemble(dynamic, [encodeException(0xff, 0x03, 0x0b)])).toMatchObject({
      response: { codeName: 'gateway_target_failed_to_respond' },
    });
    expect(assemble(dynamic, [encodeException(0xff, 0x03, 0x42)])).toMatchObject({
      response: { codeName: 'unknown_exception' },
    });
    const corrupt = encodeException(0xff, 0x03, 2);
    corrupt[4] = (corrupt[4] ?? 0) ^ 0xff;
    expect(problem(dynamic, [corrupt])?.kind).toBe('bad_crc');
  });

  it('marks a late answer to another read (another byte count) session_unusable at its third byte', () => {
    const model = readHoldingRegisters(0xff, 0x000c, 8);
    const assembler = new ResponseAssembler(model);
    const late = bytes(ROVER_DYNAMIC);
    expect(assembler.push(late.subarray(0, 2)).status).toBe('incomplete');
    const result = assembler.push(late.subarray(2, 20));
    expect(result).toMatchObject({ status: 'failed', problem: { kind: 'session_unusable' } });
    if (result.status === 'failed')
      expect(result.problem.message).toMatch(/34 registers in the answer, 8 asked for/);
    // It stays failed: nothing later on this request is trusted.
    expect(assembler.push(late.subarray(20)).status).toBe('failed');
  });

  it('marks an answer of the other function, or the echo of another write, session_unusable', () => {
    const on = writeSingleRegister(0xff, 0x010a, 1);
    const off = writeSingleRegister(0xff, 0x010a, 0);
    expect(problem(on, [bytes(ROVER_DYNAMIC)])?.kind).toBe('session_unusable');
    expect(problem(dynamic, [encodeRequest(on)])?.kind).toBe('session_unusable');
    expect(problem(dynamic, [encodeException(0xff, 0x06, 2)])?.kind).toBe('session_unusable');
    expect(problem(on, [encodeRequest(off)])).toMatchObject({
      kind: 'session_unusable',
      message: expect.stringMatching(/echo of a write of 0 to 0x010A, not of 1 to 0x010A/),
    });
    expect(assemble(on, chunks(encodeRequest(on), 3))).toMatchObject({
      status: 'complete',
      response: { kind: 'write_echo', register: 0x010a, value: 1 },
    });
  });

  it('names an answer from another device, garbage functions, impossible byte counts and extra bytes', () => {
    // §2.3: a daisy chain answering 0xFF, or a neighbour's reply.
    expect(problem(readHoldingRegisters(0x30, 0x13b2, 6), [bytes('31 03 0c 01 32')])?.kind).toBe(
      'wrong_device_id',
    );
    // renogy-bt #99: "unknown operation=0".
    expect(problem(dynamic, [bytes('ff 00 44 00')])?.kind).toBe('wrong_function');
    expect(problem(dynamic, [bytes('ff 03 43 00')])?.kind).toBe('garbled');
    expect(problem(dynamic, [bytes('ff 03 00')])?.kind).toBe('garbled');
    const frame = bytes(ROVER_DYNAMIC);
    expect(problem(dynamic, [Buffer.concat([frame, bytes('ff')])])?.kind).toBe('overlong');
    const assembler = new ResponseAssembler(dynamic);
    expect(assembler.push(frame).status).toBe('complete');
    expect(assembler.push(bytes('00 00'))).toMatchObject({ status: 'failed', problem: { kind: 'overlong' } });
  });

  it('settles an unanswered or truncated request as a timeout when the runtime gives up', () => {
    expect(new ResponseAssembler(dynamic).expire()).toMatchObject({
      status: 'failed',
      problem: { kind: 'timeout', message: 'no answer' },
    });
    const truncated = new ResponseAssembler(dynamic);
    chunks(bytes(ROVER_DYNAMIC), 20)
      .slice(0, 2)
      .forEach((piece) => truncated.push(piece));
    expect(truncated.expire()).toMatchObject({
      problem: { kind: 'timeout', message: '40 of 73 bytes of the answer (notifications lost mid-frame)' },
    });
    // A late piece after the timeout changes nothing: the session is already given up.
    expect(truncated.push(bytes('00')).status).toBe('failed');
    const done = new ResponseAssembler(dynamic);
    done.push(bytes(ROVER_DYNAMIC));
    expect(done.expire().status).toBe('complete');
  });

  it('keeps what it received for the log', () => {
    const result = assemble(dynamic, [bytes('ff 03'), bytes('10 20')]);
    expect(result).toMatchObject({ status: 'failed', problem: { received: bytes('ff 03 10 20') } });
  });

  it('never throws on random bytes (seeded)', () => {
    let seed = 0x5eed;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let round = 0; round < 2000; round++) {
      const pieces = Array.from({ length: 1 + (next() % 5) }, () =>
        Buffer.from(Array.from({ length: next() % 24 }, () => (next() % 3 === 0 ? 0xff : next()))),
      );
      const result = assemble(round % 2 ? dynamic : writeSingleRegister(0xff, 0x010a, 1), pieces);
      expect(['incomplete', 'complete', 'failed']).toContain(result.status);
    }
  });
});
