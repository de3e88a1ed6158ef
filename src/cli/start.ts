import { parseCommandArgs } from './args.js';
import { CONFIG_OPTION, CONFIG_OPTION_HELP, loadCliConfig } from './config-source.js';
import { type CliCommand, EXIT_USAGE } from './io.js';

export const startCommand: CliCommand = {
  name: 'start',
  summary: 'Run the gateway',
  usage: `Usage: fieldbridge start [--config FILE]

Runs the gateway until it receives SIGTERM or SIGINT. An invalid configuration is
reported in full and nothing is started (exit code 2).

Options:
${CONFIG_OPTION_HELP}
  -h, --help         Show this help`,

  async run(args, { io, dependencies }) {
    const options = parseCommandArgs(args, CONFIG_OPTION);
    const loaded = await loadCliConfig(options.config, io);
    if (loaded === undefined) return EXIT_USAGE;
    return dependencies.runGateway(loaded.config, { configSource: loaded.source });
  },
};
