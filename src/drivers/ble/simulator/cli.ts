import { parseCommandArgs } from '../../../commandLine/args.js';
import {
  type CliIo,
  EXIT_FAILURE,
  EXIT_OK,
  type SimulateRuntime,
  UsageError,
} from '../../../commandLine/io.js';
import { runInteractively } from '../../../commandLine/interactive.js';
import type { BluezSimulator } from '../../shared/bluez/simulator/simulator.js';
import { errorText } from '../../../errorText.js';

// `fieldbridge simulate bluez`: a fake bluetoothd with BLE sensors on a private D-Bus, for trying the BLE
// driver without an adapter and for end-to-end tests. src/cli/simulate.ts hands `simulate bluez …` here;
// the CLI loads this module only then, and it loads nothing heavy until the simulator runs (dbus-next
// comes with simulator.js).

const OPTIONS = {
  'bus-address': { type: 'string' },
  'start-bus': { type: 'boolean' },
  sensors: { type: 'string', short: 'n' },
  'interval-ms': { type: 'string' },
  'restart-delay-ms': { type: 'string' },
  seed: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

function wholeOption(
  value: string | undefined,
  option: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === '' || !Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

function timestamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/** Runs `fieldbridge simulate bluez <args>` until SIGINT/SIGTERM; resolves with the exit code. */
export async function runBluezSimulate(args: string[], io: CliIo, runtime: SimulateRuntime): Promise<number> {
  const options = parseCommandArgs(args, OPTIONS);
  const busAddress = options['bus-address'];
  if (busAddress !== undefined && options['start-bus'] === true) {
    throw new UsageError('--bus-address and --start-bus exclude each other: serve on a bus, or start one');
  }
  if (busAddress !== undefined && !busAddress.startsWith('unix:path=')) {
    throw new UsageError(`--bus-address must be unix:path=… (no abstract sockets), got "${busAddress}"`);
  }
  const count = wholeOption(options.sensors, '--sensors', 0, 200);
  const intervalMs = wholeOption(options['interval-ms'], '--interval-ms', 10, 3_600_000);
  const restartDelayMs = wholeOption(options['restart-delay-ms'], '--restart-delay-ms', 0, 600_000);
  const seed = wholeOption(options.seed, '--seed', 0, 2 ** 32 - 1);

  // Held back until the bus address is out: it must be the first line on stdout.
  let held: string[] | undefined = [];
  const log = (line: string) => {
    const text = line
      .split('\n')
      .map((part) => `${timestamp()} bluez-sim: ${part}\n`)
      .join('');
    if (held === undefined) io.stdout.write(text);
    else held.push(text);
  };
  const release = () => {
    for (const text of held ?? []) io.stdout.write(text);
    held = undefined;
  };
  const { BluezSimulator } = await import('../../shared/bluez/simulator/simulator.js');
  const { defaultSensors } = await import('../../shared/bluez/simulator/sensors.js');
  let simulator: BluezSimulator;
  try {
    simulator = new BluezSimulator({
      busAddress,
      sensors: count === undefined ? undefined : defaultSensors(count, seed ?? 1),
      intervalMs,
      restartDelayMs,
      seed,
      verbose: options.verbose ?? false,
      log,
    });
    await simulator.start();
  } catch (error) {
    release();
    io.stderr.write(`fieldbridge simulate: ${errorText(error)}\n`);
    return EXIT_FAILURE;
  }
  // The address alone on a line first, so a script can take it with `head -n 1`.
  if (busAddress === undefined) io.stdout.write(`${simulator.address}\n`);
  release();
  log(`point the gateway at it: ble.bus_address: "${simulator.address}"`);
  for (const sensor of simulator.sensors) {
    const key = sensor.spec.bindKey === undefined ? '' : `, bind_key ${sensor.spec.bindKey}`;
    log(`sensor ${sensor.spec.mac} ${sensor.spec.kind} "${sensor.spec.name}"${key}`);
  }
  await runInteractively(runtime, simulator, { SIGUSR1: 'remove-adapter', SIGUSR2: 'add-adapter' }, () =>
    log('type "help" for commands; SIGUSR1 removes the adapter, SIGUSR2 adds it; Ctrl-C stops'),
  );
  return EXIT_OK;
}
