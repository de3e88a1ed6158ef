import { parseCommandLine } from '../commandLine/args.js';
import { CONFIG_OPTION, CONFIG_OPTION_HELP, loadCliConfig } from './config-source.js';
import { type CliCommand, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './io.js';
import { errorText } from '../errorText.js';

// `fieldbridge remove-device ID`: asks the running gateway, over its HTTP API (the config's http host,
// port and token), to forget a device it found. The gateway owns the database while it runs and is the
// one that empties the device's retained MQTT topics, so there is no offline path: with the gateway
// stopped this says so and exits 1.

const REQUEST_TIMEOUT_MS = 10_000;

/** Where a client reaches a server bound to `host` (a wildcard address means this machine). */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function causeOf(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? errorText(error);
}

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
    const { http, mqtt } = loaded.config;
    const prefix = 'fieldbridge remove-device';
    if (!http.enabled) {
      io.stderr.write(
        `${prefix}: the gateway's HTTP server is off (http.enabled: false in ${loaded.source}); ` +
          `publish {"id":"${id}"} to ${mqtt.base_topic}/bridge/request/device/remove instead\n`,
      );
      return EXIT_FAILURE;
    }
    const base = `http://${reachableHost(http.host)}:${http.port}`;
    let response: Response;
    try {
      response = await fetch(`${base}/devices/${encodeURIComponent(id)}/remove`, {
        method: 'POST',
        headers: http.token === undefined ? {} : { authorization: `Bearer ${http.token}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      io.stderr.write(
        `${prefix}: fieldbridge is not running (nothing answers at ${base}: ${causeOf(error)}); ` +
          `start it with this config (${loaded.source}) first: the running gateway removes the device\n`,
      );
      return EXIT_FAILURE;
    }
    const text = await response.text();
    let body: { status?: string; error?: string; data?: { driver?: string } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = { error: `unexpected answer from ${base} (HTTP ${response.status}): ${text.slice(0, 200)}` };
    }
    if (response.ok && body.status === 'ok') {
      io.stdout.write(
        `removed ${id}${body.data?.driver ? ` (${body.data.driver})` : ''}: its MQTT topics and Home Assistant entities are cleared\n`,
      );
      return EXIT_OK;
    }
    io.stderr.write(`${prefix}: ${body.error ?? `HTTP ${response.status}`}\n`);
    return EXIT_FAILURE;
  },
};
