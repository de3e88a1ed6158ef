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
import type { CliIo } from './io.js';

export const DEFAULT_CONFIG_FILE = './fieldbridge.yaml';
/** `configSource` when no file was read: the demo (see src/config/demo.ts). */
export const DEMO_SOURCE = '(demo)';

export const CONFIG_OPTION = {
  config: { type: 'string', short: 'c' },
} as const;

export const CONFIG_OPTION_HELP = `  -c, --config FILE  Configuration file (default: ${DEFAULT_CONFIG_FILE}; if that file
                     does not exist, the demo runs: simulated devices, embedded broker)`;

export interface LoadedConfig {
  config: FieldbridgeConfig;
  /** The absolute path of the file read, or BUILT_IN_DEFAULTS. */
  source: string;
}

async function isMissing(path: string): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/**
 * Loads the file named by --config, else ./fieldbridge.yaml, else the demo. A file named explicitly
 * must exist: silently falling back to defaults would hide a typo in the path. Problems are written to
 * stderr and yield undefined.
 */
export async function loadCliConfig(
  configOption: string | undefined,
  io: CliIo,
): Promise<LoadedConfig | undefined> {
  const path = resolve(io.cwd, configOption ?? DEFAULT_CONFIG_FILE);
  if (configOption === undefined && (await isMissing(path))) {
    const config = demoConfig();
    io.stderr.write(`fieldbridge: no config file found at ${path}\n${demoBanner(config)}\n`);
    return { config, source: DEMO_SOURCE };
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
