import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config/fields/errors.js';
import { parseSimulatorConfig } from '../src/drivers/mbus/simulator/config.js';
import { socatAvailable } from '../src/drivers/mbus/simulator/pty.js';
import { runCli } from '../src/cli/run.js';
import { GatewayProcess } from './helpers/process.js';

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-simulate-cli-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: directory,
  };
  const code = await runCli(argv, io, { runGateway: async () => 0 });
  return { code, stdout, stderr };
}

function problems(text: string): string[] {
  try {
    parseSimulatorConfig(text, 'meters.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

describe('fieldbridge simulate: command line', () => {
  it('is listed in the overview and has its own help', async () => {
    expect((await run(['--help'])).stdout).toMatch(/simulate\s+Simulate M-Bus meters/);
    const help = await run(['simulate', 'mbus', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: fieldbridge simulate mbus --link PATH [options]');
    expect(help.stdout).toContain('--noanswer RATE');
  });

  it.each([
    [['simulate'], 'say which bus to simulate: fieldbridge simulate mbus --link PATH'],
    [['simulate', '--link', '/tmp/x'], 'say which bus to simulate'],
    [['simulate', 'dali', '--link', '/tmp/x'], 'cannot simulate "dali": only "mbus" is supported'],
    [['simulate', 'mbus'], 'missing --link PATH'],
    [['simulate', 'mbus', '--link', '/tmp/x', '--tcp', '10001'], 'use --link PATH or --tcp PORT, not both'],
    [['simulate', 'mbus', '--tcp', '70000'], '--tcp must be a number from 0 to 65535'],
    [['simulate', 'mbus', '--link', '/tmp/x', '--bogus'], 'unknown option --bogus'],
    [['simulate', 'mbus', '--link', '/tmp/x', '--baud', '1234'], '--baud must be one of 300, 600'],
    [
      ['simulate', 'mbus', '--link', '/tmp/x', '--meters', '0'],
      '--meters must be a number from 1 to 250, got "0"',
    ],
    [
      ['simulate', 'mbus', '--link', '/tmp/x', '--meters', '2.5'],
      '--meters must be a whole number, got "2.5"',
    ],
    [
      ['simulate', 'mbus', '--link', '/tmp/x', '--noanswer', '1.5'],
      '--noanswer must be a number from 0 to 1',
    ],
    [['simulate', 'mbus', '--link'], '--link needs a value'],
  ])('%j is a usage error: %s', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stderr).toContain('--help" for usage');
  });

  it('reports every problem of a bad meters file as path: message, exit 2', async () => {
    const path = join(directory, 'bad.yaml');
    await writeFile(path, 'baud: 2400\nmeters:\n  - { address: 300, id: "12", medium: steam }\n');
    const result = await run(['simulate', 'mbus', '--link', join(directory, 'tty'), '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('meters[0].address: must be <= 250 (got 300)');
    expect(result.stderr).toContain('meters[0].medium: must be one of');
    expect(result.stderr).toContain(`fieldbridge simulate: invalid meters file ${path}`);
  });

  it('refuses --meters together with a file that lists meters', async () => {
    const path = join(directory, 'two.yaml');
    await writeFile(path, 'meters:\n  - { address: 1, id: 1, medium: gas }\n');
    const result = await run([
      'simulate',
      'mbus',
      '--link',
      join(directory, 'tty'),
      '--config',
      path,
      '--meters',
      '2',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--meters conflicts with the meters listed in');
  });
});

describe.skipIf(!socatAvailable())('fieldbridge simulate mbus as a process without a terminal', () => {
  // GatewayProcess runs the CLI with stdin 'ignore': as under systemd, `&` in a script, or a test rig.
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'keeps running through an unplug with no stdin, and stops on %s with exit 0',
    async (signal) => {
      const simulator = new GatewayProcess(['simulate', 'mbus', '--link', join(directory, `tty-${signal}`)]);
      try {
        await simulator.waitFor(/Ctrl-C stops/);
        // The unplug closes the pty and its port: nothing of the simulator's own keeps Node running.
        simulator.kill('SIGUSR1');
        await simulator.waitFor(/unplugged: /);
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(simulator.child.exitCode).toBeNull();
        simulator.kill('SIGUSR2');
        await simulator.waitFor(/replugged: /);
        simulator.kill(signal);
        expect(await simulator.exited).toEqual({ code: 0, signal: null });
        expect(simulator.output).toMatch(/mbus-sim: stopped\n$/);
      } finally {
        simulator.kill('SIGKILL');
      }
    },
    20_000,
  );
});

describe('meters.yaml', () => {
  it('fills each meter from its medium and pads ids to 8 digits', () => {
    const config = parseSimulatorConfig(
      'seed: 7\nfast: true\nfaults: { no_answer: 0.1, slow_ms: 20 }\nmeters:\n  - { address: 5, id: 42, medium: heat, records_per_telegram: 3 }\n  - { address: 6, id: "87654321", medium: electricity, manufacturer: lug, version: 9, start: 10, rate: 1 }\n',
    );
    expect(config).toMatchObject({ seed: 7, fast: true, faults: { noAnswer: 0.1, slowMs: 20 } });
    expect(config.meters).toEqual([
      {
        address: 5,
        id: '00000042',
        medium: 'heat',
        manufacturer: 'KAM',
        version: 0x1b,
        start: 12_345.6,
        rate: 2.5,
        recordsPerTelegram: 3,
      },
      {
        address: 6,
        id: '87654321',
        medium: 'electricity',
        manufacturer: 'LUG',
        version: 9,
        start: 10,
        rate: 1,
        recordsPerTelegram: 0,
      },
    ]);
    expect(parseSimulatorConfig('').meters).toBeUndefined();
  });

  it('names every problem: types, unknown keys, duplicates', () => {
    expect(
      problems(
        'baud: fast\nfautls: {}\nmeters:\n  - { address: 1, id: "1234567X", medium: water, manufacturer: K4M }\n  - { address: 1, id: 2, medium: gas }\n  - { address: 3, id: 2, medium: gas }\n',
      ),
    ).toEqual([
      'baud: expected a number, got the string "fast"',
      'meters[0].id: must be up to 8 decimal digits, e.g. "12345678"',
      'meters[0].manufacturer: must be 3 letters (the FLAG id), e.g. "KAM"',
      'fautls: unknown key (did you mean "faults"?)',
    ]);
    // Duplicates are looked for once every meter is valid on its own.
    expect(
      problems('meters:\n  - { address: 1, id: 2, medium: gas }\n  - { address: 1, id: 2, medium: gas }\n'),
    ).toEqual([
      'meters[1].address: duplicate primary address 1 (first used by meters[0])',
      'meters[1].id: duplicate secondary address 0000000293150303 (same id, manufacturer, version and medium as meters[0])',
    ]);
    expect(problems('- 1\n')).toEqual(['(root): the file must be a mapping (baud:, faults:, meters:, ...)']);
    expect(problems('meters: [\n')[0]).toMatch(/^meters\.yaml:\d+:\d+: /);
  });
});
