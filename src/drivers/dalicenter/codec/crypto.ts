import { createCipheriv, randomBytes } from 'node:crypto';
import { badArgument, type Parsed, parsed, problem, refused } from './errors.js';

// The discovery crypto of the vendor SDK (PySrDaliGateway udp_client.py, Apache-2.0; notes §2.2): AES-128
// in CTR mode with a fixed 16-byte IV, the ASCII text "0000000000101111", and a 128-bit big-endian
// counter (Python cryptography's modes.CTR and Node's aes-128-ctr agree). Ciphertexts travel as
// lower-case hex. Because the IV never changes, encrypting with a key is XOR with that key's fixed
// keystream, so decrypting is encrypting again.
//
// Two layers protect the discovery command: a random 16-character key k encrypts the command word
// ("discover", "identifyDev"), and the fixed key SR_KEY encrypts k followed by that inner hex. Only the
// HA dialect is implemented (SR_KEY, selected by "type":"HA"); the mobile app's dialect that a
// third-party implementation describes (another IV and a fixed keystream, notes §2.5) is unverified
// and deliberately left out.

/** The fixed outer key, "SR-DALI-GW-HASYS" (16 ASCII bytes). */
export const SR_KEY = 'SR-DALI-GW-HASYS';
/** The fixed IV, the ASCII text "0000000000101111" (not hex). */
export const DISCOVERY_IV = '0000000000101111';

function keystreamXor(key: string, data: Buffer): Buffer {
  const keyBytes = Buffer.from(key, 'latin1');
  if (keyBytes.length !== 16) badArgument(`an AES-128 key must be 16 bytes, "${key}" is ${keyBytes.length}`);
  const cipher = createCipheriv('aes-128-ctr', keyBytes, Buffer.from(DISCOVERY_IV, 'latin1'));
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** AES-128-CTR of `plaintext` (UTF-8) under `key`, as lower-case hex. */
export function encryptToHex(plaintext: string, key: string = SR_KEY): string {
  return keystreamXor(key, Buffer.from(plaintext, 'utf8')).toString('hex');
}

/** The bytes behind a ciphertext in hex, or why it is not hex. */
function hexBytes(hex: string, field: string): Parsed<Buffer> {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    return refused(
      problem('bad_hex', `${field} is not an even number of hex digits: "${hex.slice(0, 80)}"`, { field }),
    );
  }
  return parsed(Buffer.from(hex, 'hex'));
}

/** The UTF-8 text of a single-layer ciphertext under `key`, or a problem (bad hex, not UTF-8). */
export function decryptHex(hex: string, key: string = SR_KEY, field = 'ciphertext'): Parsed<string> {
  const bytes = hexBytes(hex, field);
  if (!bytes.ok) return bytes;
  const plain = keystreamXor(key, bytes.value);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(plain);
  if (!Buffer.from(text, 'utf8').equals(plain)) {
    return refused(
      problem('undecryptable', `${field} does not decrypt to UTF-8 text under this key`, { field }),
    );
  }
  return parsed(text);
}

/** A fresh inner key: 16 lower-case hex characters, as the SDK's uuid4().hex[:16]. */
export function randomInnerKey(): string {
  return randomBytes(8).toString('hex');
}

const INNER_KEY = /^[0-9a-f]{16}$/i;

/** The two-layer ciphertext of `word`: SR_KEY over (innerKey + hex(innerKey over word)). */
export function encryptTwoLayer(word: string, innerKey: string = randomInnerKey()): string {
  if (!INNER_KEY.test(innerKey)) badArgument(`the inner key must be 16 hex characters, got "${innerKey}"`);
  return encryptToHex(innerKey + encryptToHex(word, innerKey), SR_KEY);
}

export interface TwoLayerPlaintext {
  innerKey: string;
  word: string;
}

/** Reverses encryptTwoLayer, what the gateway does with a discovery command (notes §2.2, last point). */
export function decryptTwoLayer(hex: string, field = 'cmd'): Parsed<TwoLayerPlaintext> {
  const outer = decryptHex(hex, SR_KEY, field);
  if (!outer.ok) return outer;
  const innerKey = outer.value.slice(0, 16);
  const innerHex = outer.value.slice(16);
  const fail = (detail: string): Parsed<TwoLayerPlaintext> =>
    refused<TwoLayerPlaintext>(problem('undecryptable', `${field}: ${detail}`, { field }));
  if (!INNER_KEY.test(innerKey))
    return fail('the outer layer does not start with a 16-hex-character inner key');
  if (innerHex.length === 0) return fail('nothing after the inner key');
  const inner = decryptHex(innerHex, innerKey, field);
  if (!inner.ok) return fail(inner.problem.detail);
  if (!/^[\x20-\x7e]+$/.test(inner.value)) return fail('the inner layer is not printable ASCII');
  return parsed({ innerKey, word: inner.value });
}
