import { parseCommandArgs } from '../commandLine/args.js';
import { CONFIG_OPTION, CONFIG_OPTION_HELP, loadCliConfig } from './config-source.js';
import { type CliCommand, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './io.js';

// `fieldbridge health`: asks a running gateway's GET /health at the address its config gives, so a
// container health check or a monitoring script follows `http.host`, `http.port` and `http.token`
// instead of repeating them (the Dockerfile's HEALTHCHECK runs it).

/** Docker gives a health check 5 s (Dockerfile); answer before that. */
const HEALTH_TIMEOUT_MS = 4_000;

/** Where to reach a server bound to `host` from this machine: a wildcard address means loopback. */
export function healthUrl(http: { host: string; port: number }): string {
  const host = http.host === '0.0.0.0' ? '127.0.0.1' : http.host === '::' ? '::1' : http.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${http.port}/health`;
}

export const healthCommand: CliCommand = {
  name: 'health',
  summary: "Ask the running gateway's GET /health (for health checks)",
  usage: `Usage: fieldbridge health [--config FILE]

Asks the running gateway's GET /health at the address of the config (http.host,
http.port; with http.token when set) and prints the answer. Exit code 0 when the
bridge is online (200), 1 when it is degraded or offline, or does not answer, 2
when the config is invalid.

Options:
${CONFIG_OPTION_HELP}
  -h, --help         Show this help`,

  async run(args, { io }) {
    const options = parseCommandArgs(args, CONFIG_OPTION);
    const loaded = await loadCliConfig(options, io);
    if (loaded === undefined) return EXIT_USAGE;
    const { http } = loaded.config;
    if (!http.enabled) {
      io.stderr.write('fieldbridge health: http.enabled is false, so there is no /health to ask\n');
      return EXIT_FAILURE;
    }
    const url = healthUrl(http);
    const headers: Record<string, string> =
      http.token === undefined ? {} : { authorization: `Bearer ${http.token}` };
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
      io.stdout.write(await response.text());
      if (response.ok) return EXIT_OK;
      io.stderr.write(`fieldbridge health: ${url} answered ${response.status}\n`);
      return EXIT_FAILURE;
    } catch (error) {
      const reason =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      io.stderr.write(`fieldbridge health: no answer from ${url}: ${reason}\n`);
      return EXIT_FAILURE;
    }
  },
};
