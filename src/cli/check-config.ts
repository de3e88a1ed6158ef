import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { deviceBus, maskSecrets } from '../config/index.js';
// Not the persistence module's index: check-config must not load the native SQLite module.
import { databasePathProblem } from '../persistence/databasePath.js';
import { parseCommandArgs } from '../commandLine/args.js';
import { CONFIG_OPTION, CONFIG_OPTION_HELP, loadCliConfig, reportConfigProblems } from './config-source.js';
import { type CliCommand, EXIT_OK, EXIT_USAGE } from './io.js';

function plural(count: number, singular: string, pluralForm: string): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

export const checkConfigCommand: CliCommand = {
  name: 'check-config',
  summary: 'Validate the configuration and print the effective settings',
  usage: `Usage: fieldbridge check-config [--config FILE | --mqtt URL]

Validates the configuration and prints it as YAML with every default filled in and
secrets masked. The YAML goes to stdout (so it can be saved and reused); the summary
and any problems go to stderr. Also checks that persistence.path can hold the database
(it is looked at, never created or changed). Exit code 0 when valid, 2 when not.

Options:
${CONFIG_OPTION_HELP}
  -h, --help         Show this help`,

  async run(args, { io }) {
    const options = parseCommandArgs(args, CONFIG_OPTION);
    const loaded = await loadCliConfig(options, io);
    if (loaded === undefined) return EXIT_USAGE;
    const { config, source } = loaded;
    const databaseProblem = databasePathProblem(resolve(io.cwd, config.persistence.path));
    if (databaseProblem !== undefined) {
      reportConfigProblems(io, [{ path: 'persistence.path', message: databaseProblem }], source);
      return EXIT_USAGE;
    }
    io.stdout.write(`# Effective configuration (source: ${source}; defaults filled in, secrets masked)\n`);
    io.stdout.write(stringify(maskSecrets(config)));
    const buses = new Set(config.devices.map(deviceBus));
    const devices = plural(config.devices.length, 'device', 'devices');
    io.stderr.write(`config OK: ${devices} on ${plural(buses.size, 'bus', 'buses')}\n`);
    return EXIT_OK;
  },
};
