import { Bridge, type BridgeLink } from '../../src/bridge/bridge.js';
import { type FieldbridgeConfig, parseConfig } from '../../src/config/index.js';
import type { Persistence } from '../../src/persistence/index.js';

/** A link that is down: everything a Bridge sends stays in the outbox, where a test reads it. */
export const offlineLink: BridgeLink = {
  online: false,
  publish: (_topic, _payload, _options, done) => done(new Error('offline')),
  subscribe: () => undefined,
  onStateChange: () => undefined,
};

/** A Bridge on a link that is down; by default for one simulated device, `lamp`. */
export function offlineBridge(
  persistence: Persistence,
  config: FieldbridgeConfig = parseConfig('devices: [{ id: lamp, driver: simulated }]', {}),
): Bridge {
  return new Bridge({
    config,
    version: 'test',
    persistence,
    link: offlineLink,
    send: () => undefined,
  });
}
