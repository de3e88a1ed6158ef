import { isIPv4 } from 'node:net';
import { parseCommandArgs } from '../../../commandLine/args.js';
import { runInteractively } from '../../../commandLine/interactive.js';
import {
  type CliIo,
  EXIT_FAILURE,
  EXIT_OK,
  type SimulateRuntime,
  UsageError,
} from '../../../commandLine/io.js';
import { errorText } from '../../../errorText.js';
import { isUsableSerial } from '../codec/index.js';
import { executeControl } from './control.js';
import { DEFAULT_SIMULATED_CREDENTIALS, DEFAULT_SIMULATED_SERIAL } from '../simulatedDefaults.js';
import { SimulatedDaliCenter } from './gateway.js';

// `fieldbridge simulate dalicenter`: a DALI Center gateway on this machine, for trying fieldbridge's
// pairing and recovery without the hardware. Runs until SIGINT/SIGTERM; stdin lines and SIGUSR1/SIGUSR2
// press its button or reboot it meanwhile.

const OPTIONS = {
  serial: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  announce: { type: 'string' },
  'discovery-port': { type: 'string' },
  bind: { type: 'string' },
  interface: { type: 'string' },
  'reply-port': { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  button: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

function port(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number > 65_535)
    throw new UsageError(`${option} must be a port 0-65535, got "${value}"`);
  return number;
}

function address(value: string | undefined, option: string): string | undefined {
  if (value !== undefined && !isIPv4(value))
    throw new UsageError(`${option} must be an IPv4 address, got "${value}"`);
  return value;
}

function timestamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/** Runs `fieldbridge simulate dalicenter <args>` until SIGINT/SIGTERM; resolves with the exit code. */
export async function runDaliCenterSimulate(
  args: string[],
  io: CliIo,
  runtime: SimulateRuntime,
): Promise<number> {
  const options = parseCommandArgs(args, OPTIONS);
  const serial = options.serial ?? DEFAULT_SIMULATED_SERIAL;
  if (!isUsableSerial(serial))
    throw new UsageError(`--serial must be letters and digits (the gateway's MAC), got "${serial}"`);
  const host = address(options.host, '--host') ?? '127.0.0.1';
  const announce = address(options.announce, '--announce');
  const button = options.button === undefined ? undefined : Number(options.button);
  if (button !== undefined && !(Number.isInteger(button) && button > 0 && button <= 3600))
    throw new UsageError(`--button must be 1-3600 seconds, got "${options.button}"`);
  const log = (line: string) => {
    for (const part of line.split('\n')) io.stdout.write(`${timestamp()} dalicenter-sim: ${part}\n`);
  };
  const multicastInterface =
    address(options.interface, '--interface') ?? announce ?? (host === '0.0.0.0' ? undefined : host);
  const gateway = new SimulatedDaliCenter({
    serial,
    host,
    mqttPort: port(options.port, '--port', 1883),
    ...(announce !== undefined ? { announceAddress: announce } : {}),
    credentials: {
      username: options.user ?? DEFAULT_SIMULATED_CREDENTIALS.username,
      password: options.password ?? DEFAULT_SIMULATED_CREDENTIALS.password,
    },
    discovery: {
      bindAddress: address(options.bind, '--bind') ?? '0.0.0.0',
      port: port(options['discovery-port'], '--discovery-port', 1900),
      ...(multicastInterface !== undefined ? { multicastInterface } : {}),
      replyRoutes: ['unicast', 'multicast'],
      replyPort: port(options['reply-port'], '--reply-port', 50569),
    },
    ...(options.verbose ? { log } : {}),
  });
  try {
    await gateway.start();
  } catch (error) {
    io.stderr.write(`fieldbridge simulate: ${errorText(error)}\n`);
    await gateway.stop();
    return EXIT_FAILURE;
  }
  if (button !== undefined) gateway.pressButton(button * 1000);
  const control = {
    execute: async (line: string) => {
      const reply = await executeControl(gateway, line);
      if (reply !== '') log(reply);
      return reply;
    },
    stop: () => gateway.stop(),
  };
  await runInteractively(runtime, control, { SIGUSR1: 'press 30', SIGUSR2: 'reboot 5' }, () => {
    log(
      `gateway ${serial}: broker ${gateway.mqttUrl} (user ${gateway.pairingCredentials.username}), discovery on UDP ${gateway.discoveryPort}`,
    );
    log(
      `topics ${gateway.commandTopic} (commands) and ${gateway.reportTopic} (reports); ${gateway.line.devices.size} devices`,
    );
    log('type "help" for commands; SIGUSR1 presses the button, SIGUSR2 reboots; Ctrl-C stops');
  });
  return EXIT_OK;
}
