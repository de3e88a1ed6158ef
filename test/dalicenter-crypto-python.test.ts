import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildDiscoveryRequest,
  decryptTwoLayer,
  encryptTwoLayer,
  parseDiscoveryResponse,
  randomInnerKey,
} from '../src/drivers/dalicenter/codec/index.js';

// The discovery crypto against a second implementation: test/helpers/daliCenterCrypto.py, written from
// the notes alone on Python's `cryptography` (OpenSSL's AES, not Node's). Our request must decrypt there
// to "discover", a reply it encrypts must parse here, and both must agree on the two-layer cmd for random
// inner keys. Skipped, saying so, without python3 and its cryptography package.

const PYTHON = ['/usr/bin/python3', '/usr/local/bin/python3'].find((path) => existsSync(path));
const HAS_CRYPTOGRAPHY =
  PYTHON !== undefined && spawnSync(PYTHON, ['-c', 'import cryptography'], { stdio: 'ignore' }).status === 0;
if (!HAS_CRYPTOGRAPHY)
  console.warn('skipping the Python cross-check: python3 with the cryptography package is not installed');

const SCRIPT = join(import.meta.dirname, 'helpers', 'daliCenterCrypto.py');

/** Runs the Python side over several requests at once (one process), one JSON line each way. */
function python(requests: object[]): Record<string, unknown>[] {
  const output = execFileSync(PYTHON as string, [SCRIPT], {
    input: requests.map((request) => JSON.stringify(request)).join('\n') + '\n',
    encoding: 'utf8',
  });
  return output
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe.skipIf(!HAS_CRYPTOGRAPHY)(
  'DALI Center discovery crypto against an independent Python implementation',
  () => {
    it('a gateway written in Python reads our discovery requests', () => {
      const requests = [buildDiscoveryRequest(), buildDiscoveryRequest({ targetSerial: '6A242121110E' })];
      const answers = python(
        requests.map((datagram) => ({ op: 'decrypt_discovery', datagram: datagram.toString() })),
      );
      expect(answers).toEqual([
        { word: 'discover', type: 'HA', snList: null },
        { word: 'discover', type: 'HA', snList: ['6A242121110E'] },
      ]);
    });

    it('we read the replies it encrypts, credentials with non-ASCII text included', () => {
      const data = {
        gwSn: '26250205591A',
        gwIp: '172.16.1.26',
        port: 1883,
        username: 'admin',
        passwd: 'pässwörd-€',
        name: 'Hall',
        channelTotal: [0, 1],
        isMqttTls: false,
      };
      const [reply] = python([{ op: 'gateway_reply', data }]);
      expect(parseDiscoveryResponse(Buffer.from(reply!.datagram as string))).toEqual({
        ok: true,
        value: {
          serial: '26250205591A',
          address: '172.16.1.26',
          port: 1883,
          tls: false,
          channels: [0, 1],
          name: 'Hall',
          credentials: { username: 'admin', password: 'pässwörd-€' },
        },
      });
    });

    it('both agree on the two-layer cmd for random inner keys and words', () => {
      const cases = Array.from({ length: 50 }, (_, index) => ({
        inner_key: randomInnerKey(),
        word: index % 2 === 0 ? 'discover' : `identifyDev${index}`,
      }));
      const answers = python(cases.map((entry) => ({ op: 'two_layer', ...entry })));
      cases.forEach((entry, index) => {
        expect(answers[index]!.cmd).toBe(encryptTwoLayer(entry.word, entry.inner_key));
        expect(decryptTwoLayer(answers[index]!.cmd as string)).toEqual({
          ok: true,
          value: { innerKey: entry.inner_key, word: entry.word },
        });
      });
    });
  },
);
