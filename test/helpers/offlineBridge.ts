import { Bridge, type BridgeLink } from '../../src/bridge/bridge.js';
import { parseConfig } from '../../src/config/index.js';
import type { Persistence } from '../../src/persistence/index.js';

/** A link that is down: everything a Bridge sends stays in the outbox, where a test reads it. */
export const offlineLink: BridgeLink = {
  online: false,
  publish: (_topic, _payload, _options, done) => done(new Error('offline')),
  subscribe: () => undefined,
  onStateChange: () => undefined,
};

/** A Bridge for one simulated device, `lamp`, on a link that is down. */
export function offlineBridge(persistence: Persistence): Bridge {
  return new Bridge({
    config: parseConfig('devices: [{ id: lamp, driver: simulated }]', {}),
    version: 'test',
    persistence,
    link: offlineLink,
    send: () => undefined,
  });
}
