// Where start and check-config get their configuration from, with the same rules for both.

import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { demoBanner, demoConfig } from '../config/demo.js';
import {
  ConfigError,
  type ConfigProblem,
  type FieldbridgeConfig,
  formatProblems,
  loadConfigFile,
} from '../config/index.js';
import { DEMO_MQTT_PORT_ENV, DEMO_MQTT_URL_ENV, demoEnvironment } from './demo.js';
import { type CliIo, UsageError } from './io.js';

export const DEFAULT_CONFIG_FILE = './fieldbridge.yaml';
/** `configSource` when no file was read: the demo (see src/config/demo.ts). */
export const DEMO_SOURCE = '(demo)';

export const CONFIG_OPTION = {
  config: { type: 'string', short: 'c' },
  mqtt: { type: 'string' },
} as const;

export const CONFIG_OPTION_HELP = `  -c, --config FILE  Configuration file (default: ${DEFAULT_CONFIG_FILE}; if that file
                     does not exist, the demo runs: simulated devices, its own database
                     ./data/demo.db, the embedded broker on 127.0.0.1:1883 or, when that port is
                     taken, the broker already there)
      --mqtt URL     The demo only: use this MQTT broker (default: $${DEMO_MQTT_URL_ENV}; the
                     embedded broker's port is $${DEMO_MQTT_PORT_ENV}, default 1883)`;

export interface LoadedConfig {
  config: FieldbridgeConfig;
  /** The absolute path of the file read, or BUILT_IN_DEFAULTS. */
  source: string;
  /** The demo on a broker it did not start: at stop it leaves nothing retained there. */
  leaveNothingRetained?: boolean;
}

async function isMissing(path: string): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** The demo this machine runs (demoEnvironment decides), with its banner; undefined after a problem. */
async function loadDemo(
  path: string,
  mqttOption: string | undefined,
  io: CliIo,
): Promise<LoadedConfig | undefined> {
  const environment = await demoEnvironment(mqttOption, io.env);
  let config: FieldbridgeConfig;
  try {
    config = demoConfig(environment);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const from = environment.broker.kind === 'given' ? environment.broker.from : 'the demo';
    io.stderr.write(
      `${formatProblems(error.problems)}\nfieldbridge: the MQTT broker URL of ${from} is not valid\n`,
    );
    return undefined;
  }
  io.stderr.write(`fieldbridge: no config file found at ${path}\n${demoBanner(config, environment)}\n`);
  // Its own embedded broker goes with it; a broker of the user's must not keep phantom demo devices.
  return { config, source: DEMO_SOURCE, leaveNothingRetained: environment.broker.kind !== 'embedded' };
}

/**
 * Loads the file named by --config, else ./fieldbridge.yaml, else the demo. A file named explicitly
 * must exist: silently falling back to defaults would hide a typo in the path. Problems are written to
 * stderr and yield undefined. `--mqtt` belongs to the demo: with a config file it is a usage error.
 */
export async function loadCliConfig(
  options: { config?: string | undefined; mqtt?: string | undefined },
  io: CliIo,
): Promise<LoadedConfig | undefined> {
  const configOption = options.config;
  const path = resolve(io.cwd, configOption ?? DEFAULT_CONFIG_FILE);
  if (configOption === undefined && (await isMissing(path))) return loadDemo(path, options.mqtt, io);
  if (options.mqtt !== undefined) {
    throw new UsageError(`--mqtt is for the demo only; with ${path}, set mqtt.server there`);
  }
  try {
    return { config: await loadConfigFile(path, io.env), source: path };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    reportConfigProblems(io, error.problems, path);
    return undefined;
  }
}

/** Writes `problems` as `path: message` lines and a summary naming the configuration `source`. */
export function reportConfigProblems(io: CliIo, problems: readonly ConfigProblem[], source: string): void {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  io.stderr.write(`${formatProblems(problems)}\nfieldbridge: ${count} in the configuration ${source}\n`);
}
