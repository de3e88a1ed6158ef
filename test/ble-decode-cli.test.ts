import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAtc, decodeBthome, decodeRuuvi, encryptBthome } from '../src/drivers/ble/codec/index.js';
import type { CliDependencies, CliIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/run.js';

// `fieldbridge decode bthome|ruuvi|atc`, driven in-process like test/mbus-decode-cli.test.ts: the
// reading as pretty JSON, --key/--mac for encrypted BTHome, and the errors (exit 1 with "error: …" for
// a payload that cannot be decoded, exit 2 for a bad command line).

const BTHOME = '40 00 09 01 5d 02 ca 09 03 bf 13';
const RUUVI = '0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F';
/** pvvx custom: MAC A4:C1:38:11:22:33, 23.45 °C, 45.67 %, 2987 mV, 87 %, counter 42, flags 05. */
const PVVX = '332211 38c1a4 2909 d711 ab0b 57 2a 05';
const KEY = '231d39c1d7cc1ab1aee224cd096db932';
const MAC = '54:48:E6:8F:80:A5';
const ENCRYPTED = encryptBthome(Buffer.from('02ca0903bf13', 'hex'), {
  mac: MAC,
  bindKey: KEY,
  counter: 0x33221100,
});

const bytes = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');
const pretty = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-ble-decode-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const dependencies: CliDependencies = {
  runGateway: () => Promise.reject(new Error('decode must not start the gateway')),
};

async function run(argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: directory,
  };
  const code = await runCli(argv, io, dependencies);
  return { code, stdout, stderr };
}

describe('fieldbridge decode bthome|ruuvi|atc', () => {
  it('decodes BTHome service data and prints the reading as pretty JSON, exit 0', async () => {
    const result = await run(['decode', 'bthome', ...BTHOME.split(' ')]);
    expect(result).toEqual({ code: 0, stdout: pretty(decodeBthome(bytes(BTHOME))), stderr: '' });
    const json = JSON.parse(result.stdout) as {
      format: string;
      values: Record<string, number>;
      packetId: number;
    };
    expect(json).toMatchObject({ format: 'bthome', packetId: 9 });
    expect(json.values).toEqual({ battery: 93, temperature: 25.06, humidity: 50.55 });
  });

  it('decrypts with --key and --mac', async () => {
    const hex = ENCRYPTED.toString('hex');
    const result = await run(['decode', 'bthome', hex, '--key', KEY, '--mac', MAC]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(pretty(decodeBthome(ENCRYPTED, { bindKey: KEY, mac: MAC })));
    expect(JSON.parse(result.stdout)).toMatchObject({ encrypted: true, values: { temperature: 25.06 } });
    expect((await run(['decode', 'bthome', hex, '-k', KEY, '-m', MAC])).stdout).toBe(result.stdout);
  });

  it('decodes Ruuvi format 5 and ATC/pvvx', async () => {
    expect(await run(['decode', 'ruuvi', RUUVI])).toEqual({
      code: 0,
      stdout: pretty(decodeRuuvi(bytes(RUUVI))),
      stderr: '',
    });
    const atc = await run(['decode', 'atc', PVVX.replace(/ /g, '')]);
    expect(atc).toEqual({ code: 0, stdout: pretty(decodeAtc(bytes(PVVX))), stderr: '' });
    expect(JSON.parse(atc.stdout)).toMatchObject({ format: 'pvvx', mac: 'A4:C1:38:11:22:33' });
  });

  it('reads the payload from --file', async () => {
    await writeFile(join(directory, 'ruuvi.hex'), `${RUUVI.toLowerCase()}\n`);
    expect((await run(['decode', 'ruuvi', '--file', 'ruuvi.hex'])).stdout).toBe(
      pretty(decodeRuuvi(bytes(RUUVI))),
    );
  });

  it('prints "error: <message>" and exits 1 for a payload it cannot decode', async () => {
    const failed = (stderr: string) => ({ code: 1, stdout: '', stderr });
    expect(await run(['decode', 'bthome', ENCRYPTED.toString('hex')])).toEqual(
      failed('error: the BTHome payload is encrypted and no bind key is configured for this device\n'),
    );
    expect(
      await run(['decode', 'bthome', ENCRYPTED.toString('hex'), '--key', KEY, '--mac', '54:48:E6:8F:80:A6']),
    ).toEqual(
      failed(
        'error: cannot decrypt the BTHome payload: the MIC does not match (wrong bind key, wrong MAC, or damaged data)\n',
      ),
    );
    expect(await run(['decode', 'bthome', '40', '02', 'ca'])).toEqual(
      failed('error: BTHome object 02 (temperature) at byte 1 needs 2 data bytes, only 1 left\n'),
    );
    expect(await run(['decode', 'bthome', '2002ca09'])).toEqual(
      failed('error: BTHome device info byte 20 says version 1; only version 2 exists\n'),
    );
    expect(await run(['decode', 'ruuvi', '03291A1ECE1EFC18F94202CA0B53'])).toEqual(
      failed('error: Ruuvi data format 03 is not supported (only format 5, RAWv2)\n'),
    );
    expect(await run(['decode', 'atc', '0102'])).toEqual(
      failed(
        'error: service data 0x181A has 2 bytes; ATC1441 has 13 and pvvx 15 (encrypted formats are not supported)\n',
      ),
    );
    expect(await run(['decode', 'atc', '01 0G'])).toEqual(failed('error: "G" is not a hex digit\n'));
    expect((await run(['decode', 'bthome', ENCRYPTED.toString('hex'), '--key', 'abc'])).stderr).toBe(
      'error: a BTHome bind key is 32 hex digits, got 3\n',
    );
  });

  it('reports a wrong command line as usage, exit 2', async () => {
    expect(await run(['decode', 'ruuvi', RUUVI, '--key', KEY])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--key and --mac are for bthome only'),
    });
    expect(await run(['decode', 'bthome', BTHOME, '--key'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('option --key needs a value'),
    });
    expect(await run(['decode', 'zigbee', '00'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/unknown protocol "zigbee" \(expected .*bthome, ruuvi.*atc/),
    });
  });

  it('explains the BLE protocols in decode --help', async () => {
    const help = await run(['decode', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      'fieldbridge decode bthome|ruuvi|atc [HEX...] [--file FILE] [--key KEY] [--mac MAC]',
    );
    expect(help.stdout).toMatch(/-k, --key KEY +bthome: the device's bind key/);
  });
});
