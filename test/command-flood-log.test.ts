import { afterEach, describe, expect, it } from 'vitest';
import { Bridge, type BridgeLink } from '../src/bridge/bridge.js';
import { parseConfig } from '../src/config/index.js';
import { NoticeLog } from '../src/gateway/noticeLog.js';
import { captureLogs, type LogCapture } from '../src/logging/index.js';
import type { CommandResultNotice } from '../src/machines/notices.js';
import { persistenceFixture } from './helpers/persistenceFiles.js';

// A flood of commands must not become a flood of log lines: refused and failed commands are one line
// per kind and interval, with how many there were.

let logs: LogCapture | undefined;
afterEach(() => logs?.stop());

const lines = () => (logs?.entries ?? []).map((entry) => `${entry.level} ${entry.ns} ${entry.msg}`);

const queueFull = (i: number, at: number): CommandResultNotice => ({
  type: 'device.commandResult',
  deviceId: 'lamp',
  commandId: `c${i}`,
  operation: 'set',
  result: { ok: false, error: 'command queue of lamp is full (100 waiting)' },
  refused: 'queue_full',
  at,
});

describe('a flood of refused commands in the log', () => {
  it('500 refusals of a full queue in 5 s are two lines, the second with the count', () => {
    logs = captureLogs({ level: 'debug' });
    let now = 0;
    const log = new NoticeLog(() => now);
    for (let i = 0; i < 500; i++) {
      now = i * 10;
      log.handle(queueFull(i, now));
      log.handle({ ...queueFull(i, now), commandId: `ok${i}`, result: { ok: true, result: null } });
    }
    now = 10_000;
    log.flush();
    const info = lines().filter((line) => line.startsWith('info'));
    expect(info).toEqual([
      'info device.lamp command c0 (set) refused: command queue of lamp is full (100 waiting)',
      'info device.lamp commands refused, the queue is full: 499 more in 10s, the latest: ' +
        'command c499 (set) refused: command queue of lamp is full (100 waiting)',
    ]);
    expect(logs.entries.at(-1)?.meta).toMatchObject({ count: 499 });
    // A refusal after a quiet interval is news again, logged at once.
    now = 30_000;
    log.flush();
    log.handle(queueFull(500, now));
    expect(
      lines()
        .filter((line) => line.startsWith('info'))
        .at(-1),
    ).toBe('info device.lamp command c500 (set) refused: command queue of lamp is full (100 waiting)');
  });

  it('keeps one line per kind: refusals and failures are counted apart', () => {
    logs = captureLogs();
    let now = 0;
    const log = new NoticeLog(() => now);
    for (let i = 0; i < 100; i++) {
      now = i * 100;
      log.handle(queueFull(i, now));
      log.handle({
        type: 'device.commandResult',
        deviceId: 'lamp',
        commandId: `f${i}`,
        operation: 'get',
        result: { ok: false, error: 'get failed after 4 tries: no answer' },
        at: now,
      });
    }
    now = 20_000;
    log.flush();
    expect(lines()).toHaveLength(4);
    expect(lines().filter((line) => /: 99 more in /.test(line))).toHaveLength(2);
  });

  it('300 invalid set commands over MQTT are two lines with the count, each still answered', async () => {
    logs = captureLogs();
    const { dbPath, open } = fixture;
    const persistence = open({ path: dbPath() });
    const handlers = new Map<string, (topic: string, payload: Buffer, retained: boolean) => void>();
    const link: BridgeLink = {
      online: false,
      publish: (_topic, _payload, _options, done) => done(new Error('offline')),
      subscribe: (filter, handler) => void handlers.set(filter, handler),
      onStateChange: () => undefined,
    };
    let now = 0;
    const bridge = new Bridge({
      config: parseConfig('devices: [{ id: lamp, driver: simulated }]', {}),
      version: 'test',
      persistence,
      link,
      send: () => undefined,
      now: () => now,
    });
    try {
      bridge.start();
      const set = handlers.get('fieldbridge/+/set');
      for (let i = 0; i < 300; i++) {
        now = i * 20;
        set?.('fieldbridge/lamp/set', Buffer.from(`{"brightness":${300 + i}}`), false);
      }
      now = 12_000;
      set?.('fieldbridge/lamp/set', Buffer.from('{"brightness":999}'), false);
      const refused = lines().filter((line) => line.includes('refused'));
      expect(refused).toHaveLength(2);
      expect(refused[0]).toMatch(/^info bridge set for lamp refused: brightness: /);
      expect(refused[1]).toMatch(
        /^info bridge commands refused as invalid: 300 more in 12s, the latest: set for lamp/,
      );
      const answers = persistence.outbox.peek(1_000).filter((m) => m.topic === 'fieldbridge/lamp/response');
      expect(answers).toHaveLength(301);
    } finally {
      bridge.stop();
    }
  });
});

const fixture = persistenceFixture();
