import { describe, expect, it } from 'vitest';
import {
  addressRequest,
  appAck,
  candidateIds,
  decodeRead,
  decodeRequest,
  encodeReadResponse,
  encodeRequest,
  FAMILY_TABLES,
  guessFamily,
  idFromAddressResponse,
  isAppAck,
  loadStateFromEcho,
  loadSwitchRequest,
  MODBUS_FAMILIES,
  NOTIFY_CHARACTERISTIC,
  readHoldingRegisters,
  readPlan,
  RegisterImage,
  ResponseAssembler,
  WRITE_CHARACTERISTIC,
  writeSingleRegister,
  type ModbusResponse,
  type ReadRequest,
} from '../src/drivers/renogy/codec/index.js';
import { formatHex } from '../src/drivers/shared/hex.js';
import { bytes } from './helpers/renogyFrames.js';

// What the runtime and the simulator build on: the read plan derived from the tables (it must send the
// frames the reference tools send, §7.1), pacing (§3, §5), device id discovery (§2.3), the load switch
// (§4.2), GATT facts and advertised names (§1), and the virtual device's register image (§8).

const planFrames = (family: (typeof MODBUS_FAMILIES)[number], id: number, model?: string): string[] =>
  readPlan(family, id, model === undefined ? {} : { model }).reads.map((read) =>
    formatHex(encodeRequest(read.request)),
  );

describe('read plans from the tables', () => {
  it('controller: the four reads renogy-bt and renogy-ble send, in order (§4.1, §7.1)', () => {
    expect(planFrames('controller', 0xff)).toEqual([
      'FF 03 00 0C 00 08 91 D1',
      'FF 03 00 1A 00 01 B0 13',
      'FF 03 01 00 00 22 D1 F1',
      'FF 03 E0 04 00 01 E7 D5',
    ]);
  });

  it('DC-DC charger: renogy-bt reads plus the optional 0x0124 × 3; a -G6 reads 0x0100 × 34 and not 0x0120 (§4.3)', () => {
    expect(planFrames('dc_charger', 0xff)).toEqual([
      'FF 03 00 0C 00 08 91 D1',
      'FF 03 00 1A 00 01 B0 13',
      'FF 03 01 00 00 1E D1 E0',
      'FF 03 01 20 00 03 10 23',
      formatHex(encodeRequest(readHoldingRegisters(0xff, 0x0124, 3))),
      'FF 03 E0 04 00 01 E7 D5',
    ]);
    const g6 = planFrames('dc_charger', 0xff, 'RBC50D1S-G6');
    expect(g6).toContain('FF 03 01 00 00 22 D1 F1');
    expect(g6.some((frame) => frame.startsWith('FF 03 01 20'))).toBe(false);
  });

  it('battery: renogy-ble device info, cells, pack and MOSFET reads and renogy-bt address read (§4.4, §7.1)', () => {
    expect(planFrames('battery', 0xff).sort()).toEqual(
      [
        'FF 03 13 F0 00 1C 55 6A',
        'FF 03 14 67 00 01 25 FB',
        'FF 03 13 88 00 22 54 A3',
        'FF 03 13 B2 00 07 B5 75',
        'FF 03 13 EC 00 08 94 A3',
      ].sort(),
    );
  });

  it('inverter: renogy-bt reads for id 0x20 (§7.1) and the four settings, paced as renogy-ble does', () => {
    const plan = readPlan('inverter', 0x20);
    expect(plan.reads.slice(0, 5).map((read) => formatHex(encodeRequest(read.request)))).toEqual([
      '20 03 0F A0 00 0A C0 4A',
      '20 03 10 0D 00 01 17 B8',
      '20 03 10 D7 00 08 F6 45',
      '20 03 10 E7 00 07 B6 4E',
      '20 03 11 38 00 06 47 88',
    ]);
    expect(plan.reads.slice(5).map((read) => read.request.register)).toEqual([4422, 4430, 4452, 4456]);
    expect(plan.reads.find((read) => read.block === 'model')?.optional).toBe(true);
    // renogy-ble sends the main read twice when the first gets no answer in time; the others once.
    expect(plan.reads.map((read) => read.attempts)).toEqual([2, 1, 1, 1, 1, 1, 1, 1, 1]);
    expect(readPlan('controller', 0xff).reads.every((read) => read.attempts === 1)).toBe(true);
    expect(plan.pacing).toMatchObject({
      requestGapMs: 300,
      responseTimeoutMs: 10_000,
      settleAfterConnectMs: 1000,
      initReadCharacteristic: '0000ffd4-0000-1000-8000-00805f9b34fb',
    });
  });

  it('paces controllers and batteries 0.5 s apart with a 2 s answer timeout, and leaves the once-reads out after the first poll', () => {
    expect(readPlan('controller', 0xff).pacing).toMatchObject({ requestGapMs: 500, responseTimeoutMs: 2000 });
    const later = readPlan('controller', 0xff, { includeOnce: false });
    expect(later.reads.map((read) => read.block)).toEqual(['dynamic']);
  });

  it('keeps every field inside its block and every read within Modbus limits', () => {
    for (const family of MODBUS_FAMILIES) {
      for (const entry of FAMILY_TABLES[family].blocks) {
        expect(entry.words, `${family}.${entry.name}`).toBeGreaterThan(0);
        expect(entry.words).toBeLessThanOrEqual(125);
        for (const field of entry.fields) {
          expect(field.register, `${family}.${field.key}`).toBeGreaterThanOrEqual(entry.register);
          expect(field.register).toBeLessThan(entry.register + entry.words);
        }
      }
    }
  });
});

describe('device ids (§2.3)', () => {
  it('tries 0xFF first when stand-alone, and the daisy-chain and hub ids of the README table', () => {
    expect(candidateIds('controller', 'standalone')).toEqual([0xff, 0x11]);
    expect(candidateIds('controller', 'daisy_chain')).toEqual([0x10, 0x11]);
    expect(candidateIds('controller', 'hub')).toEqual([0x60, 0x61]);
    expect(candidateIds('battery', 'standalone')[0]).toBe(0xff);
    expect(candidateIds('battery', 'daisy_chain')).toEqual([0x21, 0x22, 0x23]);
    expect(candidateIds('battery', 'hub')).toEqual([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37]);
    expect(candidateIds('inverter', 'standalone')).toEqual([0xff, 0x20]);
  });

  it('learns the id from the address register: the captured Rover answer says 16 (§7.2.2)', () => {
    const request = addressRequest('controller', 0xff);
    expect(formatHex(encodeRequest(request))).toBe('FF 03 00 1A 00 01 B0 13');
    const result = new ResponseAssembler(request).push(bytes('ff 03 02 00 10 90 5c'));
    expect(result.status).toBe('complete');
    if (result.status === 'complete')
      expect(idFromAddressResponse('controller', 0xff, result.response)).toBe(16);
    expect(formatHex(encodeRequest(addressRequest('battery', 0xff)))).toBe('FF 03 14 67 00 01 25 FB');
  });

  it('keeps the asked id when the address is not a unit address, and moves on after an exception', () => {
    const read = (words: number[]): ModbusResponse => ({ kind: 'read', deviceId: 0xff, words });
    expect(idFromAddressResponse('battery', 0xff, read([0x30]))).toBe(0x30);
    expect(idFromAddressResponse('battery', 0xff, read([0]))).toBe(0xff);
    expect(idFromAddressResponse('battery', 0x30, read([300]))).toBe(0x30);
    // The controller's address is the low byte only: a high byte does not spoil it.
    expect(idFromAddressResponse('controller', 0xff, read([0x0111]))).toBe(0x11);
    const exception: ModbusResponse = {
      kind: 'exception',
      deviceId: 0xff,
      function: 3,
      code: 2,
      codeName: 'x',
    };
    expect(idFromAddressResponse('controller', 0xff, exception)).toBeUndefined();
  });
});

describe('the load switch (§4.2)', () => {
  it('writes 1/0 to 0x010A and reads the state the echo confirms', () => {
    expect(formatHex(encodeRequest(loadSwitchRequest('controller', 0xff, true)))).toBe(
      'FF 06 01 0A 00 01 7C 2A',
    );
    expect(formatHex(encodeRequest(loadSwitchRequest('controller', 0xff, false)))).toBe(
      'FF 06 01 0A 00 00 BD EA',
    );
    const request = loadSwitchRequest('controller', 0xff, true);
    const result = new ResponseAssembler(request).push(bytes('FF 06 01 0A 00 01 7C 2A'));
    expect(result.status).toBe('complete');
    if (result.status === 'complete' && result.response.kind === 'write_echo') {
      expect(loadStateFromEcho('controller', result.response)).toBe(true);
    }
  });

  it('refuses families without a load output and echoes that are not the load', () => {
    expect(() => loadSwitchRequest('battery', 0xff, true)).toThrow(/a battery has no load output/);
    expect(() =>
      loadStateFromEcho('controller', { kind: 'write_echo', deviceId: 0xff, register: 0x0100, value: 1 }),
    ).toThrow(/not the load/);
  });
});

describe('GATT facts and advertised names (§1)', () => {
  it('pairs the write and notify characteristics with their services', () => {
    expect(WRITE_CHARACTERISTIC).toEqual({
      service: '0000ffd0-0000-1000-8000-00805f9b34fb',
      characteristic: '0000ffd1-0000-1000-8000-00805f9b34fb',
    });
    expect(NOTIFY_CHARACTERISTIC).toEqual({
      service: '0000fff0-0000-1000-8000-00805f9b34fb',
      characteristic: '0000fff1-0000-1000-8000-00805f9b34fb',
    });
  });

  it('guesses the family from the example names of §1.1', () => {
    expect(guessFamily('BT-TH-B00FXXXX')).toEqual({ family: 'controller', prefix: 'BT-TH-', module: true });
    expect(guessFamily('BT-TH-161DADB1')?.family).toBe('controller');
    expect(guessFamily('BT-TH-BATTERY1')?.family).toBe('battery');
    expect(guessFamily('RNGRBP1217000105')).toMatchObject({
      family: 'battery',
      scales: { batteryCurrent: 0.1 },
    });
    expect(guessFamily('RNGPRO125BAT-EF036881')).toEqual({
      family: 'battery',
      prefix: 'RNGPRO',
      module: false,
    });
    expect(guessFamily('RNGPRO12BATT4600xxxx')?.family).toBe('battery');
    expect(guessFamily('BTRIC13400XXXX')?.family).toBe('inverter');
    expect(guessFamily('RNGRIU0001')?.family).toBe('inverter');
    expect(guessFamily('RTMShunt300ABCD')?.family).toBe('shunt');
    expect(guessFamily('ATC_8D18B2')).toBeUndefined();
    expect(guessFamily('bt-th-12345678')).toBeUndefined();
  });

  it('recognises the Renogy app ACK (§1.4) in both spellings, and it is no Modbus request', () => {
    const ack = bytes('6d 61 69 6e 20 72 65 63 76 20 64 61 74 61 5b 66 66 5d 20 5b');
    expect(ack.length).toBe(20);
    expect(isAppAck(ack)).toBe(true);
    expect(appAck(0xff)).toEqual(ack);
    expect(isAppAck(Buffer.from('main recv da ta[0e] [', 'latin1'))).toBe(true);
    expect(isAppAck(bytes('FF 03 01 00 00 22 D1 F1'))).toBe(false);
  });
});

describe('the register image (the simulator side, §8)', () => {
  const answerTo = (image: RegisterImage, request: ReadRequest | ReturnType<typeof writeSingleRegister>) =>
    image.answer(encodeRequest(request));

  it('answers every read of the plan with frames the assembler and decoder accept', () => {
    const image = new RegisterImage('controller', {
      battery_soc: 87,
      battery_voltage: 12.9,
      model: 'RNG-CTRL-RVR40',
      battery_type: 'lithium',
    });
    for (const read of readPlan('controller', 0xff).reads) {
      const result = new ResponseAssembler(read.request).push(
        answerTo(image, read.request) ?? Buffer.alloc(0),
      );
      expect(result.status, read.block).toBe('complete');
    }
    const dynamic = readHoldingRegisters(0xff, 0x0100, 34);
    const answer = answerTo(image, dynamic);
    expect(answer?.length).toBe(73);
    const words = image.read(0x0100, 34);
    expect(Array.isArray(words) && decodeRead('controller', 0x0100, words).values).toMatchObject({
      battery_soc: 87,
      battery_voltage: 12.9,
    });
  });

  it('answers 0xFF and its own id, stays silent for other ids, bad CRCs and the app ACK', () => {
    const image = new RegisterImage('battery', {}, { deviceId: 0x30 });
    expect(answerTo(image, readHoldingRegisters(0x30, 0x1467, 1))).toEqual(encodeReadResponse(0x30, [0x30]));
    expect(answerTo(image, readHoldingRegisters(0x31, 0x1467, 1))).toBeUndefined();
    expect(image.answer(bytes('30 03 14 67 00 01 00 00'))).toBeUndefined();
    expect(image.answer(appAck(0x30))).toBeUndefined();
    const viaBroadcast = answerTo(image, readHoldingRegisters(0xff, 0x1467, 1));
    expect(viaBroadcast?.[0]).toBe(0xff);
    expect(viaBroadcast && decodeRead('battery', 0x1467, [viaBroadcast.readUInt16BE(3)]).values).toEqual({
      device_address: 0x30,
    });
  });

  it('refuses unmapped registers with exception 2 and switches the load with an echo, read back from 0x0120', () => {
    const image = new RegisterImage('controller', { load_on: false });
    expect(formatHex(answerTo(image, readHoldingRegisters(0xff, 0x0200, 1)) ?? Buffer.alloc(0))).toMatch(
      /^FF 83 02/,
    );
    const on = loadSwitchRequest('controller', 0xff, true);
    expect(answerTo(image, on)).toEqual(encodeRequest(on));
    expect(image.value('load_on')).toBe(true);
    const state = image.read(0x0120, 1);
    expect(Array.isArray(state) && decodeRead('controller', 0x0120, state).values.load_on).toBe(true);
    expect(formatHex(answerTo(image, writeSingleRegister(0xff, 0x010a, 2)) ?? Buffer.alloc(0))).toMatch(
      /^FF 86 03/,
    );
    expect(formatHex(answerTo(image, writeSingleRegister(0xff, 0x0100, 1)) ?? Buffer.alloc(0))).toMatch(
      /^FF 86 02/,
    );
    expect(decodeRequest(encodeRequest(on))).toEqual(on);
  });

  it('refuses values that do not fit, naming them', () => {
    expect(() => new RegisterImage('controller', { battery_voltage: 7000 })).toThrow(
      /battery_voltage = 7000 does not fit/,
    );
    expect(() => new RegisterImage('controller', { model: 'x'.repeat(17) })).toThrow(
      /at most 16 printable ASCII/,
    );
    expect(() => new RegisterImage('controller', { charging_state: 'sleeping' })).toThrow(
      /no state "sleeping"/,
    );
    expect(() => new RegisterImage('controller', { battery_soc: 'full' })).toThrow(
      /battery_soc must be a number/,
    );
  });
});
