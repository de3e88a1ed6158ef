import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDaliBytes, parseHex } from '../src/drivers/dali/codec/index.js';
import { decodeCommand } from '../src/cli/decode.js';
import type { CliDependencies, CliIo } from '../src/cli/io.js';
import { runCli } from '../src/cli/run.js';

// `fieldbridge decode dali`, driven in-process like the M-Bus one: a forward frame, hasseb reports both
// ways, --file and stdin, and "error: …" with exit 1 for bytes it cannot read.

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-decode-dali-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

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

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { io, output } = capture();
  const code = await runCli(argv, io, dependencies);
  return { code, ...output() };
}

const expected = (hex: string): string => `${JSON.stringify(decodeDaliBytes(parseHex(hex)), null, 2)}\n`;

describe('fieldbridge decode dali', () => {
  it('prints a forward frame as JSON', async () => {
    const result = await run(['decode', 'dali', '0B', 'A0']);
    expect(result).toEqual({ code: 0, stdout: expected('0BA0'), stderr: '' });
    expect(JSON.parse(result.stdout)).toMatchObject({
      type: 'forward_frame',
      description: 'QUERY ACTUAL LEVEL to short 5',
      frame: { name: 'QUERY ACTUAL LEVEL', address: { kind: 'short', address: 5 }, isQuery: true },
    });
  });

  it('prints hasseb reports in both directions', async () => {
    const out = await run(['decode', 'dali', 'AA 07 0F 10 00 00 0A A5 00 00']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({
      type: 'hasseb_out',
      report: { kind: 'send_frame', sequence: 15, sendTwiceIntervalMs: 10, frame: { name: 'INITIALISE' } },
    });
    const answer = await run(['decode', 'dali', 'AA0707020', '1FE00000000']);
    expect(JSON.parse(answer.stdout)).toMatchObject({
      type: 'hasseb_in',
      report: { kind: 'response', sequence: 7, status: 'ok', reply: { kind: 'answer', value: 254 } },
    });
  });

  it('reads --file and stdin', async () => {
    const file = join(directory, 'frame.hex');
    await writeFile(file, 'FF 00\n');
    expect(await run(['decode', 'dali', '--file', 'frame.hex'])).toMatchObject({
      code: 0,
      stdout: expected('FF00'),
    });
    const { io, output } = capture();
    const code = await decodeCommand(() => Promise.resolve('AA 00 00 00 00 00 00 00 00 00')).run(['dali'], {
      io,
      dependencies,
    });
    expect(code).toBe(0);
    expect(JSON.parse(output().stdout)).toMatchObject({ type: 'hasseb_in', report: { kind: 'no_data' } });
  });

  it('prints what is wrong on stderr and exits 1 for bytes it cannot read', async () => {
    expect(await run(['decode', 'dali', '0B'])).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: expected a DALI forward frame (2 bytes) or a hasseb report (10 bytes), got 1 bytes\n',
    });
    expect(await run(['decode', 'dali', '0X', 'A0'])).toMatchObject({
      code: 1,
      stderr: 'error: "X" is not a hex digit\n',
    });
    expect(await run(['decode', 'dali', 'AB 07 07 02 01 FE 00 00 00 00'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^error: hasseb report starts with AB, expected AA/),
    });
  });
});
