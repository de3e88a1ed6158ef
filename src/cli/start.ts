import { tuneHeapForGateway } from '../ops/heap.js';
import { DEFAULT_INSPECT_PORT } from '../ops/inspectorPort.js';
import { parseCommandArgs } from '../commandLine/args.js';
import { CONFIG_OPTION, CONFIG_OPTION_HELP, loadCliConfig } from './config-source.js';
import { type CliCommand, EXIT_USAGE, UsageError } from './io.js';

const OPTIONS = {
  ...CONFIG_OPTION,
  inspect: { type: 'boolean' },
  'inspect-port': { type: 'string' },
} as const;

export const startCommand: CliCommand = {
  name: 'start',
  summary: 'Run the gateway',
  usage: `Usage: fieldbridge start [--config FILE | --mqtt URL] [--inspect [--inspect-port P]]

Runs the gateway until it receives SIGTERM or SIGINT. An invalid configuration is
reported in full and nothing is started (exit code 2).

Options:
${CONFIG_OPTION_HELP}
      --inspect      Stream the actor system to the Stately inspector: open
                     http://127.0.0.1:${DEFAULT_INSPECT_PORT}/ (listens on 127.0.0.1 only; secrets removed)
      --inspect-port P
                     Port of the inspector relay (default ${DEFAULT_INSPECT_PORT})
  -h, --help         Show this help`,

  async run(args, { io, dependencies }) {
    const options = parseCommandArgs(args, OPTIONS);
    let inspectPort: number | undefined;
    if (options['inspect-port'] !== undefined) {
      if (!options.inspect) throw new UsageError('--inspect-port goes with --inspect');
      inspectPort = Number(options['inspect-port']);
      if (!Number.isInteger(inspectPort) || inspectPort < 1 || inspectPort > 65_535) {
        throw new UsageError(
          `--inspect-port must be a port number 1-65535, got "${options['inspect-port']}"`,
        );
      }
    } else if (options.inspect) {
      inspectPort = DEFAULT_INSPECT_PORT;
    }
    const loaded = await loadCliConfig(options, io);
    if (loaded === undefined) return EXIT_USAGE;
    tuneHeapForGateway();
    return dependencies.runGateway(loaded.config, {
      configSource: loaded.source,
      ...(loaded.leaveNothingRetained ? { leaveNothingRetained: true } : {}),
      ...(inspectPort === undefined ? {} : { inspectPort }),
    });
  },
};
