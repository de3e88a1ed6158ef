import { describe, expect, it } from 'vitest';
import {
  errorResponse,
  MAX_PAYLOAD_BYTES,
  okResponse,
  parseDeviceCommand,
  parseRequest,
} from '../src/bridge/requests.js';
import { Topics } from '../src/bridge/topics.js';

describe('topics', () => {
  const topics = new Topics('fb');

  it('builds the published topics', () => {
    expect(topics.bridgeState).toBe('fb/bridge/state');
    expect(topics.bridgeHealth).toBe('fb/bridge/health');
    expect(topics.device('heat1')).toBe('fb/heat1');
    expect(topics.availability('heat1')).toBe('fb/heat1/availability');
    expect(topics.reading('heat1')).toBe('fb/heat1/reading');
    expect(topics.response('device/restart')).toBe('fb/bridge/response/device/restart');
    expect(topics.discovery('sensor', 'fieldbridge_heat1', 'energy')).toBe(
      'homeassistant/sensor/fieldbridge_heat1/energy/config',
    );
  });

  it('parses the topics it listens to and nothing else', () => {
    expect(topics.parse('fb/heat1/set')).toEqual({ kind: 'device_set', deviceId: 'heat1' });
    expect(topics.parse('fb/heat1/get')).toEqual({ kind: 'device_get', deviceId: 'heat1' });
    expect(topics.parse('fb/bridge/request/device/restart')).toEqual({
      kind: 'request',
      name: 'device/restart',
    });
    expect(topics.parse('homeassistant/status')).toEqual({ kind: 'homeassistant_status' });
    for (const other of [
      'fb/heat1',
      'fb/bridge/set',
      'fb/bridge/request/',
      'fb/a/b/set',
      'other/heat1/set',
      'fb//set',
    ]) {
      expect(topics.parse(other), other).toBeUndefined();
    }
  });
});

describe('bridge requests', () => {
  it('accepts each known request and echoes the transaction', () => {
    expect(parseRequest('health_check', '')).toEqual({ ok: true, value: { name: 'health_check' } });
    expect(parseRequest('device/restart', '{"id":"heat1","transaction":7}')).toEqual({
      ok: true,
      value: { name: 'device/restart', id: 'heat1' },
      transaction: 7,
    });
    expect(parseRequest('device/recover', '{"id":"heat1","step":"reopen"}')).toMatchObject({
      ok: true,
      value: { name: 'device/recover', id: 'heat1', step: 'reopen' },
    });
    expect(parseRequest('log_level', '{"level":"debug","namespace":"device.heat1"}')).toMatchObject({
      ok: true,
    });
    expect(parseRequest('scan', '{"driver":"mbus"}')).toMatchObject({ ok: true });
  });

  it('names the problem of every bad request, keeping the transaction when it can', () => {
    expect(parseRequest('device/restrat', '{"id":"x","transaction":"t1"}')).toEqual({
      ok: false,
      error: 'unknown request "device/restrat" (did you mean "device/restart"?)',
      transaction: 't1',
    });
    expect(parseRequest('frobnicate', '{}')).toMatchObject({
      error: expect.stringMatching(/known: health_check, /),
    });
    expect(parseRequest('device/restart', '{"id":')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^malformed JSON: /),
    });
    expect(parseRequest('device/restart', '[1,2]')).toMatchObject({
      error: 'expected a JSON object, got an array',
    });
    expect(parseRequest('device/restart', '42')).toMatchObject({
      error: 'expected a JSON object, got number',
    });
    expect(parseRequest('device/restart', '{"id":5,"transaction":"t2"}')).toEqual({
      ok: false,
      error: 'id: Invalid input: expected string, received number',
      transaction: 't2',
    });
    expect(parseRequest('device/restart', '{}')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^id: /),
    });
    expect(parseRequest('scan', '{"driver":"zigbee"}')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^driver: /),
    });
    expect(parseRequest('health_check', '{"verbose":true}')).toMatchObject({
      error: 'unknown key "verbose"',
    });
    expect(parseRequest('log_level', '{"level":"loud"}')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^level: /),
    });
  });

  it('checks a scan against the fields of the driver it names', () => {
    expect(parseRequest('scan', '{"driver":"mbus","transaction":"t"}')).toEqual({
      ok: true,
      value: { name: 'scan', driver: 'mbus', from: 0, to: 250 },
      transaction: 't',
    });
    expect(parseRequest('scan', '{"driver":"ble","adapter":"hci0","min_rssi":-90}')).toMatchObject({
      ok: true,
      value: { name: 'scan', driver: 'ble', adapter: 'hci0', min_rssi: -90 },
    });
    // Another driver's field is refused, no longer ignored.
    expect(parseRequest('scan', '{"driver":"mbus","adapter":"hci0","transaction":3}')).toEqual({
      ok: false,
      error: 'unknown key "adapter"',
      transaction: 3,
    });
    expect(parseRequest('scan', '{"driver":"dali","min_rssi":-90}')).toMatchObject({
      ok: false,
      error: 'unknown key "min_rssi"',
    });
    expect(parseRequest('scan', '{"driver":"ble","from":0}')).toMatchObject({
      ok: false,
      error: 'unknown key "from"',
    });
    // The drivers that can scan, from the registry (the simulated driver cannot).
    expect(parseRequest('scan', '{"driver":"zigbee"}')).toMatchObject({
      error: 'driver: unknown driver "zigbee": expected one of mbus, dali, ble, dalicenter',
    });
    expect(parseRequest('scan', '{"driver":"simulated"}')).toMatchObject({
      error: 'driver: unknown driver "simulated": expected one of mbus, dali, ble, dalicenter',
    });
    expect(parseRequest('scan', '{}')).toMatchObject({
      error: 'driver: expected one of mbus, dali, ble, dalicenter',
    });
  });

  it('refuses an oversized payload without parsing it', () => {
    const big = `{"id":"${'x'.repeat(MAX_PAYLOAD_BYTES)}"}`;
    expect(parseRequest('device/restart', big)).toMatchObject({
      ok: false,
      error: `payload of ${big.length} bytes is larger than the ${MAX_PAYLOAD_BYTES} allowed`,
    });
  });
});

describe('device commands', () => {
  it('takes any JSON object and separates the transaction', () => {
    expect(parseDeviceCommand('{"state":"ON","brightness":100,"transaction":"a"}')).toEqual({
      ok: true,
      value: { state: 'ON', brightness: 100 },
      transaction: 'a',
    });
    expect(parseDeviceCommand('')).toEqual({ ok: true, value: {} });
  });

  it('refuses what is not a JSON object, and a transaction that is not a string or number', () => {
    expect(parseDeviceCommand('ON')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^malformed JSON/),
    });
    expect(parseDeviceCommand('"ON"')).toMatchObject({ error: 'expected a JSON object, got string' });
    expect(parseDeviceCommand('{"transaction":{}}')).toMatchObject({
      error: 'transaction: expected a string or a number',
    });
  });
});

describe('responses', () => {
  it('have the documented shape', () => {
    expect(okResponse({ depth: 3 }, 'x')).toEqual({ status: 'ok', data: { depth: 3 }, transaction: 'x' });
    expect(errorResponse('nope')).toEqual({ status: 'error', data: {}, error: 'nope' });
  });
});
