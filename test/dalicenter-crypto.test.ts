import { describe, expect, it } from 'vitest';
import {
  buildDiscoveryRequest,
  buildDiscoveryResponse,
  buildIdentifyGatewayReply,
  buildIdentifyGatewayRequest,
  decryptHex,
  decryptTwoLayer,
  DISCOVERY_IV,
  encryptToHex,
  encryptTwoLayer,
  parseDiscoveryRequest,
  parseDiscoveryResponse,
  parseIdentifyGatewayReply,
  randomInnerKey,
  SR_KEY,
} from '../src/drivers/dalicenter/codec/index.js';
import { seededRandom } from '../src/drivers/shared/random.js';

// Known answers from the protocol notes (/work/shared/research/dali_center.md §2.2, §2.3, §2.6): the
// values there were computed with the vendor SDK's algorithm (PySrDaliGateway udp_client.py,
// Apache-2.0) and checked in Python and Node; they are literals here, not recomputed.
const NOTES = {
  innerKey: '0123456789abcdef',
  inner: '376b79a0eee74194',
  cmd: 'd32021951a6d453985fd1212aa19fbf062d7f0f195afc7405b8d125864fb3cca',
  srKeystream48:
    'e31113a62e58730ebdc47370c97d9e9651e0c693a296a6703ee8776f50ca05fe1f4187852cc7d6b3ce33fff778531fcf',
  admin: '82757ecf40',
  password123: '937060d55937016a8cf640',
  identifyDevRes: '8a7576c85a311577f9a10522ac0e',
};

describe('DALI Center discovery crypto: known answers from the notes', () => {
  it('uses SR_KEY "SR-DALI-GW-HASYS" and the ASCII IV "0000000000101111"', () => {
    expect(SR_KEY).toBe('SR-DALI-GW-HASYS');
    expect(DISCOVERY_IV).toBe('0000000000101111');
  });

  it("the SR_KEY keystream (encryption of 48 zero bytes) is the notes' value", () => {
    expect(encryptToHex('\0'.repeat(48))).toBe(NOTES.srKeystream48);
  });

  it('inner layer: k over "discover" is 376b79a0eee74194', () => {
    expect(encryptToHex('discover', NOTES.innerKey)).toBe(NOTES.inner);
  });

  it("two layers with k = 0123456789abcdef give the notes' 64-hex cmd", () => {
    expect(encryptTwoLayer('discover', NOTES.innerKey)).toBe(NOTES.cmd);
  });

  it('the notes\' cmd decrypts back to k and "discover" (what the gateway does)', () => {
    expect(decryptTwoLayer(NOTES.cmd)).toEqual({
      ok: true,
      value: { innerKey: NOTES.innerKey, word: 'discover' },
    });
  });

  it('credentials: SR_KEY("admin") and SR_KEY("password123"), both ways', () => {
    expect(encryptToHex('admin')).toBe(NOTES.admin);
    expect(encryptToHex('password123')).toBe(NOTES.password123);
    expect(decryptHex(NOTES.admin)).toEqual({ ok: true, value: 'admin' });
    expect(decryptHex(NOTES.password123.toUpperCase())).toEqual({ ok: true, value: 'password123' });
  });

  it('identify reply cmd: SR_KEY("identifyDevRes")', () => {
    expect(encryptToHex('identifyDevRes')).toBe(NOTES.identifyDevRes);
  });
});

describe('DALI Center discovery crypto: round trips and refusals', () => {
  it('two layers round-trip for random keys and words', () => {
    const random = seededRandom(18);
    for (let i = 0; i < 200; i++) {
      const key = randomInnerKey();
      expect(key).toMatch(/^[0-9a-f]{16}$/);
      const word = Array.from({ length: 1 + Math.floor(random() * 30) }, () =>
        String.fromCharCode(0x21 + Math.floor(random() * 90)),
      ).join('');
      const cmd = encryptTwoLayer(word, key);
      expect(cmd).toHaveLength(32 + word.length * 4); // 16 key characters and the inner hex, hexed again
      expect(decryptTwoLayer(cmd)).toEqual({ ok: true, value: { innerKey: key, word } });
    }
  });

  it('single layer round-trips UTF-8 text', () => {
    for (const text of ['', 'a', 'pässwörd', 'x'.repeat(100)]) {
      expect(decryptHex(encryptToHex(text))).toEqual({ ok: true, value: text });
    }
  });

  it('refuses non-hex, odd-length hex and ciphertexts that are not two-layer', () => {
    const notHex = decryptTwoLayer('zz'.repeat(32));
    expect(notHex.ok || notHex.problem.kind).toBe('bad_hex');
    const odd = decryptHex('abc');
    expect(odd.ok || odd.problem.kind).toBe('bad_hex');
    // Random bytes: the outer layer decrypts to garbage that does not start with a hex inner key.
    const garbage = decryptTwoLayer('00'.repeat(32));
    expect(garbage.ok || garbage.problem.kind).toBe('undecryptable');
    const shortCmd = decryptTwoLayer(encryptToHex('0123456789abcdef'));
    expect(shortCmd.ok || shortCmd.problem.kind).toBe('undecryptable');
  });

  it('refuses a credential that does not decrypt to UTF-8 (the SDK skips such a gateway)', () => {
    const bytes = Buffer.from(NOTES.srKeystream48.slice(0, 4), 'hex');
    bytes[0] = (bytes[0] as number) ^ 0xff; // plaintext 0xff: not UTF-8
    const result = decryptHex(bytes.toString('hex'));
    expect(result.ok || result.problem.kind).toBe('undecryptable');
  });

  it('refuses an inner key that is not 16 hex characters when building', () => {
    expect(() => encryptTwoLayer('discover', 'short')).toThrow(/16 hex/);
  });
});

describe('DALI Center discovery datagrams', () => {
  it("builds the SDK's request, byte for byte with the notes' k", () => {
    expect(buildDiscoveryRequest({ innerKey: NOTES.innerKey }).toString()).toBe(
      `{"cmd": "${NOTES.cmd}", "type": "HA"}`,
    );
    expect(buildDiscoveryRequest({ innerKey: NOTES.innerKey, targetSerial: '6A242121110E' }).toString()).toBe(
      `{"cmd": "${NOTES.cmd}", "type": "HA", "snList": ["6A242121110E"]}`,
    );
    expect(
      buildDiscoveryRequest({
        innerKey: NOTES.innerKey,
        targetSerial: '6A242121110E',
        targetStyle: 'gwSn',
      }).toString(),
    ).toBe(`{"cmd": "${NOTES.cmd}", "type": "HA", "gwSn": "6A242121110E"}`);
  });

  it('a gateway reads the request back: word, dialect and targets (snList or gwSn)', () => {
    expect(parseDiscoveryRequest(buildDiscoveryRequest())).toEqual({
      ok: true,
      value: { word: 'discover', dialect: 'HA', targets: [] },
    });
    const targeted = parseDiscoveryRequest(
      buildDiscoveryRequest({ targetSerial: 'AB', targetStyle: 'gwSn' }),
    );
    expect(targeted.ok && targeted.value.targets).toEqual(['AB']);
    // The older SDKs' empty snList targets nobody in particular.
    const old = parseDiscoveryRequest(Buffer.from(`{"cmd": "${NOTES.cmd}", "type": "HA", "snList": []}`));
    expect(old.ok && old.value.targets).toEqual([]);
  });

  it("parses the notes' constructed reply (§2.3), credentials decrypted", () => {
    const reply = Buffer.from(
      '{"data": {"gwSn": "6A242121110E", "gwIp": "192.168.1.100", "port": 1883, "username": "82757ecf40", ' +
        '"passwd": "937060d55937016a8cf640", "name": "Dali Gateway 6A242121110E", "channelTotal": [0], "isMqttTls": false}}',
    );
    expect(parseDiscoveryResponse(reply)).toEqual({
      ok: true,
      value: {
        serial: '6A242121110E',
        address: '192.168.1.100',
        port: 1883,
        tls: false,
        channels: [0],
        name: 'Dali Gateway 6A242121110E',
        credentials: { username: 'admin', password: 'password123' },
      },
    });
  });

  it('a reply without credentials (button not pressed) has none; defaults fill port, name, channels', () => {
    const reply = Buffer.from(
      '{"data": {"gwSn": "0225020273AC", "gwIp": "10.0.0.9", "username": "", "passwd": ""}}',
    );
    expect(parseDiscoveryResponse(reply)).toEqual({
      ok: true,
      value: {
        serial: '0225020273AC',
        address: '10.0.0.9',
        port: 1883,
        tls: false,
        channels: [0],
        name: 'Dali Gateway 0225020273AC',
      },
    });
  });

  it('takes the sender for a missing gwIp when it is given', () => {
    const reply = Buffer.from('{"data": {"gwSn": "A", "gwIp": ""}}');
    const result = parseDiscoveryResponse(reply, '10.0.0.7');
    expect(result.ok && result.value.address).toBe('10.0.0.7');
    expect(parseDiscoveryResponse(reply).ok).toBe(false);
  });

  it('reads port and channels given as strings, and a TLS flag', () => {
    const reply = Buffer.from(
      '{"data": {"gwSn": "A", "gwIp": "10.0.0.9", "port": "8883", "channelTotal": ["0", "1", "x", -1], "isMqttTls": true}}',
    );
    const result = parseDiscoveryResponse(reply);
    expect(result.ok && result.value).toMatchObject({ port: 8883, channels: [0, 1], tls: true });
  });

  it('round-trips a built reply', () => {
    const gateway = {
      serial: '26250205591A',
      address: '172.16.1.26',
      port: 1883,
      tls: false,
      channels: [0, 1],
      name: 'Hall',
      credentials: { username: 'u', password: 'p w' },
    };
    expect(parseDiscoveryResponse(buildDiscoveryResponse(gateway))).toEqual({ ok: true, value: gateway });
  });

  it.each([
    ['garbage bytes', Buffer.from([0xff, 0x00, 0x13]), 'invalid_utf8'],
    ['text that is not JSON', Buffer.from('M-SEARCH * HTTP/1.1\r\n'), 'not_json'],
    ['a JSON array', Buffer.from('[1,2]'), 'not_object'],
    ['no data object', Buffer.from('{"cmd": "x"}'), 'missing_field'],
    ['no gwSn', Buffer.from('{"data": {"gwIp": "10.0.0.1"}}'), 'missing_field'],
    [
      'a gwSn with a topic wildcard',
      Buffer.from('{"data": {"gwSn": "A/#", "gwIp": "10.0.0.1"}}'),
      'out_of_range',
    ],
    ['no gwIp', Buffer.from('{"data": {"gwSn": "A"}}'), 'missing_field'],
    [
      'a gwIp that is not IPv4',
      Buffer.from('{"data": {"gwSn": "A", "gwIp": "gateway.local"}}'),
      'out_of_range',
    ],
    ['port 70000', Buffer.from('{"data": {"gwSn": "A", "gwIp": "10.0.0.1", "port": 70000}}'), 'out_of_range'],
    ['port true', Buffer.from('{"data": {"gwSn": "A", "gwIp": "10.0.0.1", "port": true}}'), 'wrong_type'],
    [
      'credentials that are not hex',
      Buffer.from('{"data": {"gwSn": "A", "gwIp": "10.0.0.1", "username": "admin", "passwd": "x"}}'),
      'bad_hex',
    ],
  ])('refuses %s with a named kind', (_what, datagram, kind) => {
    const result = parseDiscoveryResponse(datagram);
    expect(result.ok).toBe(false);
    expect(result.ok || result.problem.kind).toBe(kind);
  });

  it('never throws on random datagrams', () => {
    const random = seededRandom(7);
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(
        Array.from({ length: Math.floor(random() * 120) }, () => Math.floor(random() * 256)),
      );
      expect(() => parseDiscoveryResponse(bytes)).not.toThrow();
      expect(() => parseDiscoveryRequest(bytes)).not.toThrow();
      expect(() => parseIdentifyGatewayReply(bytes)).not.toThrow();
    }
  });

  it('identify gateway: request is two-layer "identifyDev", reply single-layer "identifyDevRes"', () => {
    const request = parseDiscoveryRequest(buildIdentifyGatewayRequest('6A242121110E', '1760000000'));
    expect(request).toEqual({
      ok: true,
      value: { word: 'identifyDev', dialect: undefined, targets: ['6A242121110E'], msgId: '1760000000' },
    });
    const reply = buildIdentifyGatewayReply('6A242121110E', true);
    expect(JSON.parse(reply.toString()).cmd).toBe(NOTES.identifyDevRes);
    expect(parseIdentifyGatewayReply(reply)).toEqual({
      ok: true,
      value: { serial: '6A242121110E', ack: true },
    });
  });
});
