import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Persistence } from '../persistence/index.js';
import { parseCommandArgs } from '../commandLine/args.js';
import { CONFIG_OPTION, CONFIG_OPTION_HELP, loadCliConfig } from './config-source.js';
import { type CliCommand, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './io.js';

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Write the device states and the queued MQTT messages as JSON lines (backup)',
  usage: `Usage: fieldbridge export [--config FILE | --mqtt URL]

Writes every device's last known state, then every message still queued for the broker (oldest
first), one JSON object per line, to stdout. Safe while the gateway runs (SQLite WAL readers do not
block it). Exit code 1 when there is no database at persistence.path or it is corrupt, 2 when
persistence.path is not a database fieldbridge can use; either way the file is left as it is.

Options:
${CONFIG_OPTION_HELP}
  -h, --help         Show this help`,

  async run(args, { io }) {
    const options = parseCommandArgs(args, CONFIG_OPTION);
    const loaded = await loadCliConfig(options, io);
    if (loaded === undefined) return EXIT_USAGE;
    const path = resolve(io.cwd, loaded.config.persistence.path);
    if (!existsSync(path)) {
      io.stderr.write(`fieldbridge export: no database at ${path} (persistence.path)\n`);
      return EXIT_FAILURE;
    }
    // Loaded on demand: the other commands must not need the native SQLite module.
    const { CorruptDatabaseError, DatabaseFileError, exportJsonLines, openPersistence } =
      await import('../persistence/index.js');
    let persistence: Persistence;
    try {
      // A corrupt file is the gateway's to recover: it may be running on it right now.
      persistence = openPersistence({
        path,
        synchronous: loaded.config.persistence.synchronous,
        replaceCorrupt: false,
      });
    } catch (error) {
      if (error instanceof DatabaseFileError) {
        io.stderr.write(`fieldbridge export: ${error.message}\n`);
        return EXIT_USAGE;
      }
      if (!(error instanceof CorruptDatabaseError)) throw error;
      io.stderr.write(
        `fieldbridge export: ${error.message}; left as it is: \`fieldbridge start\` moves it aside and keeps what can be read\n`,
      );
      return EXIT_FAILURE;
    }
    try {
      let lines = 0;
      exportJsonLines(persistence, (line) => {
        io.stdout.write(`${line}\n`);
        lines += 1;
      });
      io.stderr.write(`exported ${lines} lines from ${path}\n`);
    } finally {
      persistence.close();
    }
    return EXIT_OK;
  },
};
