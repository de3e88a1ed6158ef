import { parseCommandLine } from '../commandLine/args.js';
import { CONFIG_OPTION, CONFIG_OPTION_HELP, loadCliConfig } from './config-source.js';
import { type CliCommand, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './io.js';
import { postToGateway } from './gatewayHttp.js';

// `fieldbridge remove-device ID`: asks the running gateway, over its HTTP API (the config's http host,
// port and token), to forget a device it found. The gateway owns the database while it runs and is the
// one that empties the device's retained MQTT topics, so there is no offline path: with the gateway
// stopped this says so and exits 1.

const REQUEST_TIMEOUT_MS = 10_000;

export const removeDeviceCommand: CliCommand = {
  name: 'remove-device',
  summary: 'Forget a device found by a scan or BLE auto_add (asks the running gateway)',
  usage: `Usage: fieldbridge remove-device ID [--config FILE]

Asks the running gateway to forget a device it found (a scanned meter or lamp, a BLE sensor added by
auto_add): its actor stops, it leaves the database, and its retained MQTT topics (state, availability)
and Home Assistant entities are removed. A BLE sensor removed this way is not added again by auto_add
(a scan adds it again). A device from the config file is removed by editing the file.

The gateway is reached over its HTTP API, at the http.host and http.port of the config, with
http.token when one is set. Exit code 0 when removed; 1 when the device is unknown or configured, or
when no gateway answers (start it first: the running gateway owns the database); 2 on a usage error.
The same over MQTT: {"id":"ID"} to <base>/bridge/request/device/remove.

Options:
${CONFIG_OPTION_HELP}
  -h, --help         Show this help`,

  async run(args, { io }) {
    const { values, positionals } = parseCommandLine(args, CONFIG_OPTION);
    const [id, ...extra] = positionals;
    if (id === undefined || id === '')
      throw new UsageError('missing device id: fieldbridge remove-device ID');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" (one device id at a time)`);
    const loaded = await loadCliConfig(values, io);
    if (loaded === undefined) return EXIT_USAGE;
    const prefix = 'fieldbridge remove-device';
    const answer = await postToGateway(loaded, `/devices/${encodeURIComponent(id)}/remove`, {
      io,
      prefix,
      timeoutMs: REQUEST_TIMEOUT_MS,
      mqttInstead: `publish {"id":"${id}"} to <base>/bridge/request/device/remove`,
      what: 'the running gateway removes the device',
    });
    if (answer === undefined) return EXIT_FAILURE;
    const { body } = answer;
    if (answer.ok) {
      io.stdout.write(
        `removed ${id}${body.data?.driver ? ` (${body.data.driver})` : ''}: its MQTT topics and Home Assistant entities are cleared\n`,
      );
      return EXIT_OK;
    }
    io.stderr.write(`${prefix}: ${body.error ?? `HTTP ${answer.status}`}\n`);
    return EXIT_FAILURE;
  },
};
