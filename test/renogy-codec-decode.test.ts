import { describe, expect, it } from 'vitest';
import {
  decodeShuntFrame,
  describeHex,
  encodeShuntFrame,
  SHUNT_FRAME_LENGTH,
  ShuntAssembler,
} from '../src/drivers/renogy/codec/index.js';
import { renogyDecoder } from '../src/drivers/renogy/decode.js';
import { bytes, CAPTURED_RESPONSES, EXCEPTION_ANSWER, ROVER_DYNAMIC } from './helpers/renogyFrames.js';

// `fieldbridge decode renogy <hex…>` (the hook the driver module will register): requests and answers
// from a log named and checked, values when the read can be known; and the Smart Shunt's notification
// frames (§4.6), which are not Modbus.

const decode = (hex: string, options: Record<string, string | undefined> = {}) =>
  renogyDecoder.decode('renogy', hex, options);

describe('fieldbridge decode renogy', () => {
  it('takes any 8-byte 0x03 frame for a request, also for registers 0x03xx', () => {
    expect(decode('ff 03 03 00 00 01 91 90')).toMatchObject({
      json: { type: 'read_request', register: '0x0300', count: 1, crc: { valid: true } },
    });
  });

  it('names a read request and the table read it is (§7.1)', () => {
    expect(decode('FF 03 01 00 00 22 D1 F1')).toEqual({
      json: {
        type: 'read_request',
        deviceId: 255,
        function: '0x03',
        functionName: 'read_holding_registers',
        crc: { valid: true, received: '0xF1D1', computed: '0xF1D1' },
        register: '0x0100',
        count: 34,
        reads: ['controller.dynamic'],
      },
    });
  });

  it('decodes the captured Rover answer given the family, the start register following from its length', () => {
    const outcome = decode(ROVER_DYNAMIC, { family: 'controller' });
    expect(outcome).toMatchObject({
      json: {
        type: 'read_response',
        deviceId: 255,
        crc: { valid: true },
        count: 34,
        family: 'controller',
        register: '0x0100',
        values: { battery_soc: 100, battery_voltage: 14.4, charging_state: 'boost', load_on: false },
      },
    });
  });

  it('says what it needs when the read cannot be known, and decodes given --register', () => {
    expect(decode(ROVER_DYNAMIC)).toMatchObject({
      json: { note: '34 registers could be controller.dynamic, battery.cells: give --register' },
    });
    expect(decode('ff 03 02 00 10 90 5c')).toMatchObject({
      json: { words: [16], note: expect.stringMatching(/give --register/) },
    });
    expect(decode('ff 03 02 00 10 90 5c', { register: '0x001A' })).toMatchObject({
      json: { note: 'register 0x001A is in controller, dc_charger: give --family' },
    });
    expect(decode('ff 03 02 00 10 90 5c', { register: '26', family: 'controller' })).toMatchObject({
      json: { family: 'controller', register: '0x001A', values: { device_address: 16 } },
    });
    expect(decode('20 03 0c 00 02 00 14 00 16 00 00 01 71 00 00 a0 f6', { register: '4408' })).toMatchObject({
      json: { family: 'inverter', values: { load_current: 0.2, line_charging_current: 36.9 } },
    });
  });

  it.each(CAPTURED_RESPONSES)('decodes the capture $source given its family and register', (capture) => {
    const outcome = decode(capture.hex, { family: capture.family, register: String(capture.register) });
    expect(outcome).toMatchObject({
      json: { type: 'read_response', crc: { valid: true }, count: capture.count },
    });
    const values = 'json' in outcome ? (outcome.json as { values?: object }).values : undefined;
    expect(Object.keys(values ?? {}).length).toBeGreaterThan(0);
  });

  it('shows a bad CRC without refusing the frame', () => {
    const corrupt = ROVER_DYNAMIC.replace(/a3 d2$/, 'a3 d3');
    expect(decode(corrupt, { family: 'controller' })).toMatchObject({
      json: { crc: { valid: false, received: '0xD3A3', computed: '0xD2A3' }, values: { battery_soc: 100 } },
    });
  });

  it('names exceptions, the load switch write and the app ACK', () => {
    expect(decode(EXCEPTION_ANSWER)).toEqual({
      json: {
        type: 'exception',
        deviceId: 0x30,
        function: '0x83',
        functionName: 'exception to 0x03',
        crc: { valid: true, received: '0x3E91', computed: '0x3E91' },
        exceptionCode: 2,
        exceptionName: 'illegal_data_address',
      },
    });
    expect(decode('FF 06 01 0A 00 01 7C 2A')).toMatchObject({
      json: {
        type: 'write_single_register',
        register: '0x010A',
        value: 1,
        note: 'controller load output on (§4.2)',
      },
    });
    expect(decode('6d 61 69 6e 20 72 65 63 76 20 64 61 74 61 5b 66 66 5d 20 5b')).toMatchObject({
      json: { type: 'app_ack' },
    });
  });

  it('says what is wrong with what it cannot decode', () => {
    expect(decode('zz')).toEqual({ error: '"z" is not a hex digit' });
    expect(decode('')).toEqual({ error: 'no bytes' });
    expect(decode('ff 03 44')).toEqual({ error: '3 bytes are too short for a Modbus frame' });
    expect(decode('ff 10 00 00 00 00 00 00')).toEqual({
      error: 'function 0x10 is not one Renogy devices use (0x03, 0x06)',
    });
    expect(decode('ff 03 44 00 64 00 90')).toEqual({
      error: 'a read answer of byte count 68 is 73 bytes, got 7',
    });
    expect(decode(ROVER_DYNAMIC, { family: 'solar' })).toEqual({
      error: '"solar" is not a Renogy Modbus family (controller, dc_charger, battery, inverter)',
    });
    expect(decode(ROVER_DYNAMIC, { register: '0x1zz' })).toEqual({
      error: 'register "0x1zz" is not 0-65535 (decimal or 0x hex)',
    });
  });

  it('never throws anything but its own error on random bytes (seeded)', () => {
    let seed = 0xc0de;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let round = 0; round < 3000; round++) {
      const frame = Buffer.from(
        Array.from({ length: 1 + (next() % 80) }, (_, index) =>
          index === 1 ? ([3, 6, 0x83][next() % 3] ?? 3) : next(),
        ),
      );
      const outcome = decode(frame.toString('hex'));
      expect('json' in outcome || 'error' in outcome).toBe(true);
    }
  });
});

describe('Smart Shunt notifications (§4.6; no capture in the notes: frames built by hand at the documented offsets)', () => {
  function liveFrame(): Buffer {
    const frame = Buffer.alloc(SHUNT_FRAME_LENGTH);
    bytes('42 57 01 19').copy(frame, 0);
    frame.writeIntBE(-2500, 21, 3); // -2.500 A
    frame.writeUIntBE(13_275, 25, 3); // 13.275 V
    frame.writeUInt16BE(12_610, 30); // 12.610 V
    frame.writeUInt16BE(954, 34); // 95.4 %
    frame.writeInt16BE(-35, 66); // -3.5 °C
    return frame;
  }
  const expected = {
    current: -2.5,
    voltage: 13.275,
    starter_voltage: 12.61,
    battery_soc: 95.4,
    battery_temperature: -3.5,
  };

  it('decodes a live frame, signed current and temperature', () => {
    expect(decodeShuntFrame(liveFrame())).toEqual(expected);
    expect(encodeShuntFrame(expected)).toEqual(liveFrame());
  });

  it('refuses history frames and other lengths', () => {
    const history = liveFrame();
    history[3] = 0x0b;
    expect(() => decodeShuntFrame(history)).toThrow(/history frame/);
    expect(() => decodeShuntFrame(liveFrame().subarray(0, 100))).toThrow(/110 bytes, got 100/);
  });

  it('reassembles 20-byte notifications after a 61 D2 prefix, skipping a history header', () => {
    const stream = Buffer.concat([
      bytes('42 57 01 0b 00 00'),
      bytes('61 d2 00 6e'),
      liveFrame(),
      bytes('61 d2'),
    ]);
    const assembler = new ShuntAssembler();
    const frames: Buffer[] = [];
    for (let offset = 0; offset < stream.length; offset += 20)
      frames.push(...assembler.push(stream.subarray(offset, offset + 20)));
    expect(frames).toHaveLength(1);
    expect(frames[0] && decodeShuntFrame(frames[0])).toEqual(expected);
  });

  it('drops a frame that lost a piece when the next header comes inside it, and reads that next frame', () => {
    const truncated = Buffer.concat([liveFrame().subarray(0, 40), liveFrame().subarray(60)]);
    const assembler = new ShuntAssembler();
    const frames = [
      ...assembler.push(truncated),
      ...assembler.push(bytes('61 d2 00 6e')),
      ...assembler.push(liveFrame()),
    ];
    expect(frames).toHaveLength(1);
    expect(frames[0] && decodeShuntFrame(frames[0])).toEqual(expected);
  });

  it('is decoded by the decode command, prefix or not', () => {
    expect(decode(`61d2006e${liveFrame().toString('hex')}`)).toEqual({
      json: { type: 'shunt_frame', values: expected },
    });
    expect(describeHex(liveFrame().toString('hex')).type).toBe('shunt_frame');
  });
});
