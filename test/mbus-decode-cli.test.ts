import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, formatHex, parseHex } from '../src/drivers/mbus/codec/frames.js';
import { hexByte } from '../src/drivers/mbus/codec/errors.js';
import { decodeTelegram, telegramJson } from '../src/drivers/mbus/codec/telegram.js';
import { decodeCommand } from '../src/cli/decode.js';
import type { CliDependencies, CliIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/run.js';
import { describeWithVectors } from './helpers/vectors.js';

// `fieldbridge decode mbus`, driven in-process like test/cli.test.ts: hex arguments, --file, stdin,
// and the errors (exit 1 with "error: …" for a bad frame, exit 2 for a bad command line).

/** A small variable data telegram (id 01001135, KAM): energy, voltage, fabrication number, date. */
const FRAME_BYTES = encodeFrame({
  kind: 'long',
  c: 0x08,
  a: 1,
  ci: 0x72,
  data: Buffer.from([
    ...[0x35, 0x11, 0x00, 0x01, 0x2d, 0x2c, 0x01, 0x02, 0x16, 0x00, 0x00, 0x00],
    ...[0x04, 0x03, 0xe8, 0x03, 0x00, 0x00], // energy 1000 Wh
    ...[0x02, 0xfd, 0x48, 0x3a, 0x09], // voltage 237.8 V
    ...[0x0c, 0x78, 0x35, 0x11, 0x00, 0x01], // fabrication number
    ...[0x04, 0x6d, 0x2c, 0x13, 0x6e, 0x16], // date and time
  ]),
});
const FRAME = formatHex(FRAME_BYTES);

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-decode-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function capture(): { io: CliIo; output: () => { stdout: string; stderr: string } } {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: directory,
  };
  return { io, output: () => ({ stdout, stderr }) };
}

const dependencies: CliDependencies = {
  runGateway: () => Promise.reject(new Error('decode must not start the gateway')),
};

async function run(argv: string[]): Promise<Run> {
  const { io, output } = capture();
  const code = await runCli(argv, io, dependencies);
  return { code, ...output() };
}

/** The JSON the CLI must print for a frame: the decoder's telegram, pretty-printed. */
function expectedJson(hex: string): string {
  return `${JSON.stringify(telegramJson(decodeTelegram(parseHex(hex))), null, 2)}\n`;
}

describe('fieldbridge decode mbus', () => {
  it('decodes hex arguments and prints the telegram as pretty JSON, exit 0', async () => {
    const result = await run(['decode', 'mbus', ...FRAME.split(' ')]);
    expect(result).toEqual({ code: 0, stdout: expectedJson(FRAME), stderr: '' });
    const json = JSON.parse(result.stdout) as { slave: { id: string }; records: { quantity: string }[] };
    expect(Object.keys(json)).toEqual(['frame', 'c', 'a', 'ci', 'slave', 'records']);
    expect(json.slave.id).toBe('01001135');
    expect(json.records.map((record) => record.quantity)).toContain('Voltage');
    expect(result.stdout).toContain('\n  "slave": {\n    "id": "01001135",');
  });

  it('accepts the frame as one argument without spaces', async () => {
    const result = await run(['decode', 'mbus', FRAME.replace(/ /g, '')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(expectedJson(FRAME));
  });

  it('reads a hex file with --file (relative to the working directory)', async () => {
    await writeFile(join(directory, 'frame.hex'), `${FRAME.toLowerCase()}\r\n\r\n`);
    const result = await run(['decode', 'mbus', '--file', 'frame.hex']);
    expect(result).toEqual({ code: 0, stdout: expectedJson(FRAME), stderr: '' });
  });

  it('reads stdin when neither hex nor --file is given', async () => {
    const { io, output } = capture();
    const command = decodeCommand(() => Promise.resolve(`${FRAME}\n`));
    const code = await command.run(['mbus'], { io, dependencies });
    expect({ code, ...output() }).toEqual({ code: 0, stdout: expectedJson(FRAME), stderr: '' });
  });

  it('prints "error: <message>" and exits 1 for a frame it cannot decode', async () => {
    const damaged = Buffer.from(FRAME_BYTES);
    const checksumAt = damaged.length - 2;
    const good = damaged[checksumAt] ?? 0;
    damaged[checksumAt] = (good + 1) & 0xff;
    expect(await run(['decode', 'mbus', formatHex(damaged)])).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: checksum is ${hexByte((good + 1) & 0xff)}, expected ${hexByte(good)}\n`,
    });
    expect(await run(['decode', 'mbus', '68', '04', '04', '68', '08', '01', '70', '08', '81', '16'])).toEqual(
      {
        code: 1,
        stdout: '',
        stderr: 'error: Application busy\n',
      },
    );
    expect((await run(['decode', 'mbus', '68 1G'])).stderr).toBe('error: "G" is not a hex digit\n');
    expect((await run(['decode', 'mbus', '--file', 'missing.hex'])).stderr).toMatch(
      /^error: cannot read .*missing\.hex: ENOENT/,
    );
  });

  it('reports a wrong command line as usage, exit 2', async () => {
    expect(await run(['decode'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('missing protocol'),
    });
    expect(await run(['decode', 'zigbee', '00'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown protocol "zigbee"'),
    });
    expect(await run(['decode', 'mbus', '--frame', '00'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown option --frame'),
    });
    expect(await run(['decode', 'mbus', '00', '--file', 'x.hex'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('not both'),
    });
  });

  it('is listed by --help and explains itself with decode --help', async () => {
    expect((await run(['--help'])).stdout).toMatch(
      /\n {2}decode +Decode an M-Bus, DALI, BTHome, Ruuvi, ATC or Renogy frame/,
    );
    const help = await run(['decode', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: fieldbridge decode mbus \[HEX\.\.\.\] \[--file FILE\]/);
  });
});

describeWithVectors('fieldbridge decode mbus on libmbus vector files', 'libmbus', (dir) => {
  it('decodes test-frames/kamstrup_multical_601.hex read with --file', async () => {
    const path = join(dir, 'test-frames', 'kamstrup_multical_601.hex');
    const result = await run(['decode', 'mbus', '--file', path]);
    expect(result).toEqual({ code: 0, stdout: expectedJson(readFileSync(path, 'latin1')), stderr: '' });
    const json = JSON.parse(result.stdout) as { slave: { product_name: string }; records: unknown[] };
    expect(json.slave.product_name).toBe('Kamstrup Multical 601');
    expect(json.records).toHaveLength(28);
  });

  it('refuses error-frames/too_many_dife.hex with exit 1', async () => {
    const result = await run(['decode', 'mbus', '--file', join(dir, 'error-frames', 'too_many_dife.hex')]);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toMatch(/^error: record 2 \(DIF 8B at frame byte \d+\): more than 10 DIFEs\n$/);
  });
});
