import { describe, expect, it } from 'vitest';
import { offlineBridge } from './helpers/offlineBridge.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';

// A reading and a command's answer for the same device in one event-loop turn: the reading waits for
// its group commit, the answer is written at once. The answer is newer, so it must be the state that
// stays (a lamp's confirmed level, not the level read just before the command).

const { dbPath, open } = persistenceFixture();

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('Bridge: a command answer after a reading still waiting for its commit', () => {
  it('keeps the answer’s state, in the database and in the newest retained state message', async () => {
    const persistence = open({ path: dbPath() });
    const bridge = offlineBridge(persistence);
    try {
      const at = Date.parse('2026-01-01T12:00:00.000Z');
      bridge.handleNotice({
        type: 'device.data',
        deviceId: 'lamp',
        operation: 'read',
        result: { brightness: 10 },
        at,
      });
      bridge.handleNotice({
        type: 'device.commandResult',
        deviceId: 'lamp',
        commandId: 'c1',
        operation: 'set',
        result: { ok: true, result: { brightness: 50 } },
        at: at + 5,
      });
      await settle();

      const states = persistence.outbox
        .peek(1_000)
        .filter((message) => message.kind === 'state' && message.topic === 'fieldbridge/lamp')
        .map((message) => JSON.parse(message.payload) as { brightness: number });
      expect(states.at(-1)?.brightness).toBe(50);
      expect(persistence.states.all().find((row) => row.deviceId === 'lamp')?.state).toMatchObject({
        brightness: 50,
      });
      // The reading itself was committed too, first.
      const readings = persistence.outbox
        .peek(1_000)
        .filter((message) => message.topic === 'fieldbridge/lamp/reading');
      expect(readings.map((message) => JSON.parse(message.payload).brightness)).toEqual([10]);
    } finally {
      bridge.stop();
    }
  });
});
