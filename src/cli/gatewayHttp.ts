import type { FieldbridgeConfig } from '../config/index.js';
import { errorText } from '../errorText.js';
import type { CliIo } from './io.js';

// How the command line asks the running gateway over its HTTP API (the config's http host, port and
// token): `remove-device` and `scan`. The gateway owns the database and the buses while it runs, so
// these commands have no offline path: with the gateway stopped they say so.

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

export interface GatewayAnswer {
  ok: boolean;
  status: number;
  body: { status?: string; error?: string; data?: Record<string, unknown> & { driver?: string } };
}

/**
 * POSTs `path` to the running gateway; undefined (after saying why on stderr) when nothing answers.
 * `mqttInstead` is what to publish instead when the HTTP server is off.
 */
export async function postToGateway(
  loaded: { config: FieldbridgeConfig; source: string },
  path: string,
  options: { io: CliIo; prefix: string; timeoutMs: number; mqttInstead: string; what: string },
): Promise<GatewayAnswer | undefined> {
  const { http, mqtt } = loaded.config;
  const { io, prefix } = options;
  if (!http.enabled) {
    io.stderr.write(
      `${prefix}: the gateway's HTTP server is off (http.enabled: false in ${loaded.source}); ` +
        `${options.mqttInstead.replace('<base>', mqtt.base_topic)} instead\n`,
    );
    return undefined;
  }
  const base = `http://${reachableHost(http.host)}:${http.port}`;
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: http.token === undefined ? {} : { authorization: `Bearer ${http.token}` },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    io.stderr.write(
      `${prefix}: fieldbridge is not running (nothing answers at ${base}: ${causeOf(error)}); ` +
        `start it with this config (${loaded.source}) first: ${options.what}\n`,
    );
    return undefined;
  }
  const text = await response.text();
  let body: GatewayAnswer['body'] = {};
  try {
    body = JSON.parse(text) as GatewayAnswer['body'];
  } catch {
    body = { error: `unexpected answer from ${base} (HTTP ${response.status}): ${text.slice(0, 200)}` };
  }
  return { ok: response.ok && body.status === 'ok', status: response.status, body };
}
