import { resolve } from 'node:path';
import { parseCommandArgs } from '../../../commandLine/args.js';
import { runInteractively } from '../../../commandLine/interactive.js';
import {
  type CliIo,
  EXIT_FAILURE,
  EXIT_OK,
  EXIT_USAGE,
  type SimulateRuntime,
  UsageError,
} from '../../../commandLine/io.js';
import { ConfigError, formatProblems } from '../../../config/fields/errors.js';
import { errorText } from '../../../errorText.js';
import type { SimulatorFileConfig } from './config.js';
import type { Faults } from './faults.js';
import type { MbusSimulatorOptions } from './simulator.js';
import { BAUD_RATES } from './usage.js';

// `fieldbridge simulate mbus`: M-Bus meters on a pty pair, for trying the gateway without hardware and
// for end-to-end tests. Runs until SIGINT/SIGTERM; stdin lines and SIGUSR1/SIGUSR2 change it meanwhile.
// src/cli/simulate.ts hands `simulate mbus …` here through the driver registry, loading this module
// only then.

const OPTIONS = {
  link: { type: 'string', short: 'l' },
  tcp: { type: 'string' },
  meters: { type: 'string', short: 'n' },
  baud: { type: 'string', short: 'b' },
  config: { type: 'string', short: 'c' },
  seed: { type: 'string' },
  fast: { type: 'boolean' },
  spread: { type: 'boolean' },
  noanswer: { type: 'string' },
  corrupt: { type: 'string' },
  slow: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

function parseNumberOption(value: string | undefined, option: string, min: number, max: number) {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < min || number > max) {
    throw new UsageError(`${option} must be a number from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

function parseWholeOption(value: string | undefined, option: string, min: number, max: number) {
  const number = parseNumberOption(value, option, min, max);
  if (number !== undefined && !Number.isInteger(number)) {
    throw new UsageError(`${option} must be a whole number, got "${value}"`);
  }
  return number;
}

function timestamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/** Runs `fieldbridge simulate mbus <args>` until SIGINT/SIGTERM; resolves with the exit code. */
export async function runMbusSimulate(args: string[], io: CliIo, runtime: SimulateRuntime): Promise<number> {
  const options = parseCommandArgs(args, OPTIONS);
  if ((options.link === undefined) === (options.tcp === undefined)) {
    throw new UsageError(
      options.link === undefined
        ? 'missing --link PATH (the serial port path the gateway opens, e.g. /tmp/ttyMBUS) or --tcp PORT'
        : 'use --link PATH or --tcp PORT, not both',
    );
  }
  const tcpPort = parseWholeOption(options.tcp, '--tcp', 0, 65_535);
  const count = parseWholeOption(options.meters, '--meters', 1, 250);
  const baud = parseWholeOption(options.baud, '--baud', 300, 38_400);
  if (baud !== undefined && !BAUD_RATES.includes(baud)) {
    throw new UsageError(`--baud must be one of ${BAUD_RATES.join(', ')}, got ${baud}`);
  }
  const seed = parseWholeOption(options.seed, '--seed', 0, 2 ** 32 - 1);
  const faults: Partial<Faults> = {};
  const noAnswer = parseNumberOption(options.noanswer, '--noanswer', 0, 1);
  const corrupt = parseNumberOption(options.corrupt, '--corrupt', 0, 1);
  const slowMs = parseNumberOption(options.slow, '--slow', 0, 60_000);
  if (noAnswer !== undefined) faults.noAnswer = noAnswer;
  if (corrupt !== undefined) faults.corrupt = corrupt;
  if (slowMs !== undefined) faults.slowMs = slowMs;

  // Loaded on demand: the other commands and --help load none of the simulator (nor serialport).
  const { loadSimulatorConfig } = await import('./config.js');
  const { defaultMeters } = await import('./meters.js');
  let file: SimulatorFileConfig = { faults: {} };
  if (options.config !== undefined) {
    const path = resolve(io.cwd, options.config);
    try {
      file = await loadSimulatorConfig(path);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      io.stderr.write(
        `${formatProblems(error.problems)}\nfieldbridge simulate: invalid meters file ${path}\n`,
      );
      return EXIT_USAGE;
    }
    if (count !== undefined && file.meters !== undefined) {
      throw new UsageError(
        `--meters conflicts with the meters listed in ${options.config}; use one or the other`,
      );
    }
  }
  return serve(io, runtime, {
    ...(options.link === undefined ? { tcpPort } : { link: resolve(io.cwd, options.link) }),
    meters: file.meters ?? defaultMeters(count ?? 3),
    baud: baud ?? file.baud,
    seed: seed ?? file.seed,
    fast: (options.fast ?? false) || (file.fast ?? false),
    turnaroundMs: file.turnaroundMs,
    spreadAnswers: (options.spread ?? false) || (file.spreadAnswers ?? false),
    faults: { ...file.faults, ...faults },
    verbose: options.verbose ?? false,
    socat: runtime.socat,
  });
}

type ServeOptions = Omit<MbusSimulatorOptions, 'log'>;

async function serve(io: CliIo, runtime: SimulateRuntime, options: ServeOptions): Promise<number> {
  const { MbusSimulator } = await import('./simulator.js');
  const log = (line: string) => {
    for (const part of line.split('\n')) io.stdout.write(`${timestamp()} mbus-sim: ${part}\n`);
  };
  let simulator: InstanceType<typeof MbusSimulator>;
  try {
    simulator = new MbusSimulator({ ...options, log });
    await simulator.start();
  } catch (error) {
    io.stderr.write(`fieldbridge simulate: ${errorText(error)}\n`);
    return EXIT_FAILURE;
  }
  await runInteractively(runtime, simulator, { SIGUSR1: 'unplug', SIGUSR2: 'replug' }, () =>
    log('type "help" for commands; SIGUSR1 unplugs, SIGUSR2 replugs; Ctrl-C stops'),
  );
  return EXIT_OK;
}
