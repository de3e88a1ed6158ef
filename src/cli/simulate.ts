import { resolve } from 'node:path';
import { ConfigError, formatProblems } from '../config/errors.js';
import type { SimulatorFileConfig } from '../drivers/mbus/simulator/config.js';
import type { Faults } from '../drivers/mbus/simulator/faults.js';
import type { MbusSimulatorOptions } from '../drivers/mbus/simulator/simulator.js';
import { BLUEZ_USAGE, runBluezSimulate } from '../drivers/ble/simulator/cli.js';
import { parseCommandArgs } from './args.js';
import { runInteractively } from './interactive.js';
import { type CliCommand, type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './io.js';
import { errorText } from '../errorText.js';

// `fieldbridge simulate mbus`: M-Bus meters on a pty pair, for trying the gateway without hardware and
// for end-to-end tests. Runs until SIGINT/SIGTERM; stdin lines and SIGUSR1/SIGUSR2 change it meanwhile.

const BAUD_RATES = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400];

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

const USAGE = `Usage: fieldbridge simulate mbus --link PATH [options]
       fieldbridge simulate mbus --tcp PORT [options]

Simulates M-Bus meters (the slave side) on a pty pair made with socat: point the gateway's M-Bus
port at PATH (e.g. port: /tmp/ttyMBUS). The meters answer SND_NKE, REQ_UD2 (FCB, multi-telegram
readouts), secondary selection with wildcards (several matches collide), address changes and
application reset. Runs until Ctrl-C or SIGTERM. Needs socat (Debian: apt-get install socat).

Options:
  -l, --link PATH      Where the gateway's end of the pty appears
      --tcp PORT       Instead of a pty: serve the meters behind a simulated Ethernet level
                       converter on 127.0.0.1:PORT (the gateway's port: tcp://127.0.0.1:PORT)
  -n, --meters N       N meters of different media at primary addresses 1..N (default 3)
  -b, --baud B         Line speed: ${BAUD_RATES.join(', ')} (default 2400); replies take the
                       time they would on the wire
  -c, --config FILE    meters.yaml: baud, seed, fast, turnaround_ms, spread_answers, faults,
                       meters (answer_delay_ms per meter)
      --seed N         Seed of the faults and collisions (default 1)
      --fast           Reply at once (no simulated time on the wire)
      --spread         Each meter answers at its own moment inside the standard's answer window
                       (11 bit times to 330 bit times + 50 ms): a wildcard select gets E5s one
                       after another, or overlapping, as on a real bus
      --noanswer RATE  Lose this share of replies (0-1)
      --corrupt RATE   Send this share of replies with a bad checksum (0-1)
      --slow MS        Delay every reply by MS more milliseconds
  -v, --verbose        Log every frame received and sent
  -h, --help           Show this help

While it runs, type commands on stdin (help lists them): unplug, replug, noanswer RATE,
corrupt RATE, slow MS, meter ADDR|ID dead, meter ADDR|ID alive, halfopen (TCP), status.
SIGUSR1 unplugs, SIGUSR2 replugs.`;

/** What the running simulator needs from the process; tests pass their own. */
export interface SimulateRuntime {
  stdin: NodeJS.ReadableStream | undefined;
  /** Subscribes to a signal; returns the unsubscribe. */
  onSignal(signal: NodeJS.Signals, handler: () => void): () => void;
  socat?: string;
}

const processRuntime: SimulateRuntime = {
  // A getter: touching process.stdin opens it, which the other commands must not do.
  get stdin() {
    return process.stdin;
  },
  onSignal(signal, handler) {
    process.on(signal, handler);
    return () => process.off(signal, handler);
  },
};

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

export function createSimulateCommand(runtime: SimulateRuntime = processRuntime): CliCommand {
  return {
    name: 'simulate',
    summary: 'Simulate M-Bus meters on a pty pair (socat), or BlueZ with BLE sensors on a private D-Bus',
    usage: `${USAGE}\n\n${BLUEZ_USAGE}`,

    async run(args, { io }) {
      const [bus, ...rest] = args;
      if (bus === undefined || bus.startsWith('-')) {
        throw new UsageError(
          'say which bus to simulate: fieldbridge simulate mbus --link PATH, or fieldbridge simulate bluez',
        );
      }
      // Its own options; it loads dbus-next only once the simulator runs.
      if (bus === 'bluez') return runBluezSimulate(rest, io, runtime);
      if (bus !== 'mbus') {
        throw new UsageError(
          `cannot simulate "${bus}": only "mbus" is supported on a pty, and "bluez" on D-Bus`,
        );
      }
      const options = parseCommandArgs(rest, OPTIONS);
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
      const { loadSimulatorConfig } = await import('../drivers/mbus/simulator/config.js');
      const { defaultMeters } = await import('../drivers/mbus/simulator/meters.js');
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
    },
  };
}

type ServeOptions = Omit<MbusSimulatorOptions, 'log'>;

async function serve(io: CliIo, runtime: SimulateRuntime, options: ServeOptions): Promise<number> {
  const { MbusSimulator } = await import('../drivers/mbus/simulator/simulator.js');
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

export const simulateCommand = createSimulateCommand();
