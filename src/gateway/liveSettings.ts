import type { FieldbridgeConfig } from '../config/index.js';
import type { HttpConfig } from '../http/index.js';
import type { Logger } from '../logging/index.js';
import type { MqttConfig } from '../mqtt/index.js';
import type { Persistence } from '../persistence/index.js';

// A reload's changes to the service sections, each applied by the part that owns it, the rest of the
// gateway untouched (src/gateway/reload.ts decides what may change; this applies it):
// - mqtt: the link reconnects with the new settings (and the embedded broker moves or stops). The
//   outbox keeps every message meanwhile; what was in flight goes again once the new link is online.
// - persistence (but its path), queue.max_messages/max_bytes: in place, on the open database.
// - http: the HTTP server stops listening and listens again on the new address, with the new token.
// - queue.inflight, homeassistant: the bridge reads them from the config it gets (Bridge.reconfigure):
//   the drainer's window, and discovery republished (removed first when switched off or moved).

export interface LiveParts {
  mqtt: { reconfigure(next: MqttConfig, discoveryPrefix: string): Promise<boolean> };
  persistence: Pick<Persistence, 'reconfigure'>;
  http: { rebind(http: HttpConfig): Promise<string | null> };
  log: Logger;
}

const changedIn = (changed: readonly string[], section: string) =>
  changed.filter((key) => key.startsWith(`${section}.`));

/**
 * Applies the changed service keys; returns what it did, for the reload's answer. The MQTT part comes
 * first because it alone can fail (a new embedded broker's port taken): then nothing has changed.
 */
export async function applyServiceSettings(
  next: FieldbridgeConfig,
  changed: readonly string[],
  parts: LiveParts,
): Promise<Record<string, unknown>> {
  if (changed.length === 0) return {};
  const done: Record<string, unknown> = { settings: [...changed] };
  const mqtt = changedIn(changed, 'mqtt');
  // The embedded broker keeps others' logins off fieldbridge's discovery configs: under the new prefix.
  const prefixMoved = changed.includes('homeassistant.discovery_prefix');
  if (mqtt.length > 0 || prefixMoved) {
    if (mqtt.length > 0) {
      parts.log.info(`${mqtt.join(', ')} changed: reconnecting the MQTT link with the new settings`);
    }
    const replaced = await parts.mqtt.reconfigure(next.mqtt, next.homeassistant.discovery_prefix);
    if (mqtt.length > 0) done.mqtt = replaced ? 'reconnected' : 'unchanged';
  }
  const storage = [...changedIn(changed, 'persistence'), ...changedIn(changed, 'queue')].filter(
    (key) => key !== 'queue.inflight',
  );
  if (storage.length > 0) {
    parts.persistence.reconfigure({
      synchronous: next.persistence.synchronous,
      retentionDays: next.persistence.retention_days,
      maxMessages: next.queue.max_messages,
      maxBytes: next.queue.max_bytes,
    });
    parts.log.info(`${storage.join(', ')} applied`);
  }
  const http = changedIn(changed, 'http');
  if (http.length > 0) {
    parts.log.info(`${http.join(', ')} changed: restarting the HTTP server`);
    done.http = await parts.http.rebind(next.http);
  }
  return done;
}
