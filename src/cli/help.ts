import { type CliCommand, EXIT_OK, UsageError } from './io.js';

export const GLOBAL_OPTIONS_HELP = `Options:
  -h, --help     Show this help
  -V, --version  Print the version`;

/** The overview printed by `fieldbridge --help`. */
export function overviewText(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((command) => command.name.length)) + 2;
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`);
  return `Usage: fieldbridge <command> [options]

Self-healing gateway bridging M-Bus, DALI and BLE field devices to MQTT and Home Assistant.

Commands:
${lines.join('\n')}

${GLOBAL_OPTIONS_HELP}

Run "fieldbridge <command> --help" for the options of a command.
`;
}

/** `fieldbridge help [command]`; built from the command table it describes. */
export function helpCommand(commands: () => readonly CliCommand[]): CliCommand {
  return {
    name: 'help',
    summary: 'Show help for a command',
    usage: `Usage: fieldbridge help [command]

Shows the list of commands, or the help of one command.`,

    async run(args, { io }) {
      const [topic, ...rest] = args;
      if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
      if (topic === undefined) {
        io.stdout.write(overviewText(commands()));
        return EXIT_OK;
      }
      const command = commands().find((candidate) => candidate.name === topic);
      if (command === undefined) throw new UsageError(`unknown command "${topic}"`);
      io.stdout.write(`${command.usage}\n`);
      return EXIT_OK;
    },
  };
}
