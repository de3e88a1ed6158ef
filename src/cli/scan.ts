import { parseCommandLine } from '../commandLine/args.js';
import { CONFIG_OPTION, CONFIG_OPTION_HELP, loadCliConfig } from './config-source.js';
import { postToGateway } from './gatewayHttp.js';
import { type CliCommand, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './io.js';

// `fieldbridge scan DRIVER [FIELD=VALUE …]`: asks the running gateway to scan (POST /trigger-scan, the
// same request as MQTT `bridge/request/scan`), with that driver's own fields, and prints its answer.
// A driver's pairing that is a scan (`pair=true`) runs from here too.

/** A scan may listen for minutes (a bus search, a pairing window): bounded, but generously. */
const SCAN_TIMEOUT_MS = 15 * 60_000;

export const scanCommand: CliCommand = {
  name: 'scan',
  summary: 'Scan a line (or pair gateways) on the running gateway and print what it found',
  usage: `Usage: fieldbridge scan DRIVER [FIELD=VALUE ...] [--config FILE]

Asks the running gateway to scan one of its lines with that driver's scan fields, as the MQTT request
<base>/bridge/request/scan does, and prints its answer (what was found, the devices added) as JSON.
The fields are those of the driver's scan (see the README's "MQTT topics"): which line, the range of
addresses, or pair=true duration_s=60 for a driver whose pairing is a scan (press the button then).

The gateway is reached over its HTTP API (http.host, http.port, http.token of the config). Exit code 0
when the scan was done; 1 when it could not be, or no gateway answers; 2 on a usage error.

Options:
${CONFIG_OPTION_HELP}
  -h, --help         Show this help`,

  async run(args, { io }) {
    const { values, positionals } = parseCommandLine(args, CONFIG_OPTION);
    const [driver, ...fields] = positionals;
    if (driver === undefined || driver === '')
      throw new UsageError('missing driver: fieldbridge scan DRIVER');
    const query = new URLSearchParams({ driver });
    for (const field of fields) {
      const at = field.indexOf('=');
      if (at <= 0) throw new UsageError(`"${field}" is not FIELD=VALUE`);
      query.append(field.slice(0, at), field.slice(at + 1));
    }
    const loaded = await loadCliConfig(values, io);
    if (loaded === undefined) return EXIT_USAGE;
    const prefix = 'fieldbridge scan';
    const answer = await postToGateway(loaded, `/trigger-scan?${query.toString()}`, {
      io,
      prefix,
      timeoutMs: SCAN_TIMEOUT_MS,
      mqttInstead: `publish {"driver":"${driver}", …} to <base>/bridge/request/scan`,
      what: 'the running gateway scans',
    });
    if (answer === undefined) return EXIT_FAILURE;
    if (answer.ok) {
      io.stdout.write(`${JSON.stringify(answer.body.data ?? {}, null, 2)}\n`);
      return EXIT_OK;
    }
    io.stderr.write(`${prefix}: ${answer.body.error ?? `HTTP ${answer.status}`}\n`);
    return EXIT_FAILURE;
  },
};
