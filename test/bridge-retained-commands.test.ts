import { afterEach, describe, expect, it } from 'vitest';
import { Bridge, type BridgeLink } from '../src/bridge/bridge.js';
import { parseConfig } from '../src/config/index.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import type { RootEvent } from '../src/machines/rootSupervisor.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';

// A retained command is handed over again by the broker at every (re)connect: acting on it would switch
// a light or restart a device each time the gateway starts. Only commands that are sent count.

let logs: LogCapture | undefined;
afterEach(() => logs?.stop());
const { dbPath, open } = persistenceFixture();

type Handler = (topic: string, payload: Buffer, retained: boolean) => void;

function bridgeWithLink() {
  const persistence = open({ path: dbPath() });
  const handlers = new Map<string, Handler>();
  const link: BridgeLink = {
    online: false,
    publish: (_topic, _payload, _options, done) => done(new Error('offline')),
    subscribe: (filter, handler) => void handlers.set(filter, handler),
    onStateChange: () => undefined,
  };
  const sent: RootEvent[] = [];
  const bridge = new Bridge({
    config: parseConfig('devices: [{ id: lamp, driver: simulated }]', {}),
    version: 'test',
    persistence,
    link,
    send: (event) => sent.push(event),
  });
  bridge.start();
  const deliver = (filter: string, topic: string, payload: string, retained: boolean) =>
    handlers.get(filter)?.(topic, Buffer.from(payload), retained);
  const responses = () => persistence.outbox.peek(100).filter((m) => m.topic.includes('/response'));
  return { bridge, sent, deliver, responses };
}

describe('retained commands', () => {
  it('a retained set, get or bridge request is not acted on, and says how to clear it', () => {
    logs = captureLogs({ level: 'debug' });
    const { bridge, sent, deliver, responses } = bridgeWithLink();
    try {
      deliver('fieldbridge/+/set', 'fieldbridge/lamp/set', '{"state":"ON"}', true);
      deliver('fieldbridge/+/get', 'fieldbridge/lamp/get', '{}', true);
      deliver(
        'fieldbridge/bridge/request/#',
        'fieldbridge/bridge/request/device/restart',
        '{"id":"lamp"}',
        true,
      );
      // Clearing a retained message (an empty retained payload) is not a command either, and no warning.
      deliver('fieldbridge/+/set', 'fieldbridge/lamp/set', '', true);

      expect(sent).toEqual([]);
      expect(responses()).toEqual([]);
      const warnings = (logs.entries ?? [])
        .filter((entry) => entry.level === 'warn')
        .map((entry) => entry.msg);
      expect(warnings).toHaveLength(3);
      expect(warnings[0]).toBe(
        "ignored a retained command on fieldbridge/lamp/set: commands are acted on only when sent; clear it with an empty retained message (mosquitto_pub -r -n -t 'fieldbridge/lamp/set')",
      );
    } finally {
      bridge.stop();
    }
  });

  it('the same command sent (not retained) is acted on', () => {
    const { bridge, sent, deliver } = bridgeWithLink();
    try {
      deliver('fieldbridge/+/set', 'fieldbridge/lamp/set', '{"state":"ON"}', false);
      expect(sent).toEqual([expect.objectContaining({ type: 'COMMAND', deviceId: 'lamp' })]);
    } finally {
      bridge.stop();
    }
  });
});
