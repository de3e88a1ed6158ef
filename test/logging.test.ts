import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  captureLogs,
  closeLogging,
  configureLogging,
  currentLoggingOptions,
  DEFAULT_LOGGING_OPTIONS,
  getLogger,
  type LogCapture,
  type LoggingOptions,
  logTransition,
} from '../src/logging/index.js';

const FIXED_TS = '2026-11-22T03:41:00.123Z';
const fixedClock = () => Date.parse(FIXED_TS);

let capture: LogCapture | undefined;
function startCapture(overrides: Partial<LoggingOptions> = {}): LogCapture {
  capture = captureLogs({ now: fixedClock, ...overrides });
  return capture;
}

afterEach(() => {
  capture?.stop();
  capture = undefined;
});

/** A stream standing in for stdout; resolves once `count` lines have arrived. */
function lineCollector(count: number, isTTY = false) {
  const lines: string[] = [];
  let arrived: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        if (lines.length >= count) arrived();
        callback();
      },
    }),
    { isTTY },
  );
  return { stream, lines, done };
}

describe('before configureLogging', () => {
  it('uses info, pretty, console defaults', () => {
    expect(currentLoggingOptions()).toEqual(DEFAULT_LOGGING_OPTIONS);
    const log = getLogger('device.heat1');
    expect(log.isEnabled('info')).toBe(true);
    expect(log.isEnabled('debug')).toBe(false);
  });
});

describe('namespace levels', () => {
  const namespaces = { device: 'debug', 'device.heat1': 'error', supervisor: 'warn' } as const;

  it('lets the longest whole-segment prefix win, else the global level', () => {
    startCapture({ level: 'info', namespaces });
    const enabledLevels = (ns: string) =>
      (['error', 'warn', 'info', 'debug'] as const).filter((level) => getLogger(ns).isEnabled(level));

    expect(enabledLevels('device.heat2')).toEqual(['error', 'warn', 'info', 'debug']);
    expect(enabledLevels('device')).toEqual(['error', 'warn', 'info', 'debug']);
    expect(enabledLevels('device.heat1')).toEqual(['error']);
    expect(enabledLevels('device.heat1.pump')).toEqual(['error']);
    expect(enabledLevels('device.heat10')).toEqual(['error', 'warn', 'info', 'debug']); // not "device.heat1"
    expect(enabledLevels('devices')).toEqual(['error', 'warn', 'info']); // not "device"
    expect(enabledLevels('supervisor.mbus:/dev/ttyUSB0')).toEqual(['error', 'warn']);
    expect(enabledLevels('mqtt')).toEqual(['error', 'warn', 'info']);
  });

  it('child loggers extend the namespace and inherit its level', () => {
    const { entries } = startCapture({ level: 'warn', namespaces });
    const child = getLogger('device').child('heat7');
    expect(child.namespace).toBe('device.heat7');
    child.debug('frame received');
    expect(entries.map((entry) => [entry.ns, entry.level])).toEqual([['device.heat7', 'debug']]);
  });

  it('re-resolves cached levels of existing loggers after reconfiguration', () => {
    startCapture({ level: 'info', namespaces });
    const log = getLogger('device.heat2');
    expect(log.isEnabled('debug')).toBe(true); // cached now

    configureLogging({ ...currentLoggingOptions(), namespaces: { 'device.heat2': 'warn' } });
    expect(log.isEnabled('debug')).toBe(false);
    expect(log.isEnabled('info')).toBe(false);
    expect(log.isEnabled('warn')).toBe(true);

    configureLogging({ ...currentLoggingOptions(), level: 'debug', namespaces: {} });
    expect(log.isEnabled('debug')).toBe(true);
  });

  it('drops filtered entries before they reach any output', () => {
    const { entries } = startCapture({ level: 'warn' });
    const log = getLogger('mqtt');
    log.debug('noise');
    log.info('noise');
    log.warn('kept');
    log.error('kept too');
    expect(entries.map((entry) => entry.msg)).toEqual(['kept', 'kept too']);
  });

  it('refuses an unknown level instead of silently logging nothing', () => {
    const bogus = { ...DEFAULT_LOGGING_OPTIONS, level: 'verbose' } as unknown as LoggingOptions;
    expect(() => configureLogging(bogus)).toThrow(/level must be one of/);
  });
});

describe('line shapes', () => {
  it('pretty: timestamp, padded level, namespace, message, key=value', () => {
    const log = startCapture({ format: 'pretty' });
    getLogger('device.heat1').info('reading ok', { temp: 21.5, unit: 'C', note: 'two words', ok: true });
    getLogger('device.heat1').error('poll failed', { err: new Error('timeout') });
    expect(log.lines()).toEqual([
      `${FIXED_TS} INFO  [device.heat1] reading ok temp=21.5 unit=C note="two words" ok=true`,
      `${FIXED_TS} ERROR [device.heat1] poll failed err="Error: timeout"`,
    ]);
  });

  it('pretty: a message with newlines stays on one line', () => {
    const log = startCapture({ format: 'pretty' });
    getLogger('mqtt').warn('line one\nINFO  [fake] forged line');
    expect(log.lines()).toEqual([`${FIXED_TS} WARN  [mqtt] line one\\nINFO  [fake] forged line`]);
  });

  it('json: one object per line, core fields first, meta flattened', () => {
    const log = startCapture({ format: 'json' });
    getLogger('device.heat1').info('reading ok', { temp: 21.5, tags: ['a'], level: 3 });
    const [line] = log.lines();
    expect(line).not.toContain('\n');
    const parsed = JSON.parse(line ?? '') as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['ts', 'level', 'ns', 'msg', 'temp', 'tags', 'meta_level']);
    expect(parsed).toEqual({
      ts: FIXED_TS,
      level: 'info',
      ns: 'device.heat1',
      msg: 'reading ok',
      temp: 21.5,
      tags: ['a'],
      meta_level: 3, // a meta "level" must not overwrite the entry's level
    });
  });

  it('json: errors keep name, message, code and stack', () => {
    const log = startCapture({ format: 'json' });
    const err = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    getLogger('mqtt').error('broker unreachable', { err });
    const parsed = JSON.parse(log.lines()[0] ?? '') as { err: Record<string, unknown> };
    expect(parsed.err).toMatchObject({
      name: 'Error',
      message: 'connect ECONNREFUSED',
      code: 'ECONNREFUSED',
    });
    expect(parsed.err.stack).toContain('connect ECONNREFUSED');
  });

  it('goes through the winston console transport with the configured format', async () => {
    const json = lineCollector(1);
    configureLogging({
      ...DEFAULT_LOGGING_OPTIONS,
      format: 'json',
      consoleStream: json.stream,
      now: fixedClock,
    });
    getLogger('device.heat1').info('hello', { n: 1 });
    await json.done;
    expect(json.lines).toEqual([
      `{"ts":"${FIXED_TS}","level":"info","ns":"device.heat1","msg":"hello","n":1}`,
    ]);

    const pretty = lineCollector(1);
    configureLogging({
      ...DEFAULT_LOGGING_OPTIONS,
      format: 'pretty',
      consoleStream: pretty.stream,
      now: fixedClock,
    });
    getLogger('device.heat1').info('hello', { n: 1 });
    await pretty.done;
    expect(pretty.lines).toEqual([`${FIXED_TS} INFO  [device.heat1] hello n=1`]);
    await closeLogging();
  });

  it('colours pretty lines only on a TTY', async () => {
    const savedNoColor = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      const tty = lineCollector(1, true);
      configureLogging({ ...DEFAULT_LOGGING_OPTIONS, consoleStream: tty.stream, now: fixedClock });
      getLogger('mqtt').warn('reconnecting');
      await tty.done;
      expect(tty.lines[0]).toBe(`${FIXED_TS} \x1b[33mWARN \x1b[0m [mqtt] reconnecting`);

      const pipe = lineCollector(1, false);
      configureLogging({ ...DEFAULT_LOGGING_OPTIONS, consoleStream: pipe.stream, now: fixedClock });
      getLogger('mqtt').warn('reconnecting');
      await pipe.done;
      expect(pipe.lines[0]).toBe(`${FIXED_TS} WARN  [mqtt] reconnecting`);
    } finally {
      if (savedNoColor !== undefined) process.env.NO_COLOR = savedNoColor;
      await closeLogging();
    }
  });
});

describe('secret redaction', () => {
  it('masks secret keys at any depth, case-insensitively, in every output', () => {
    const log = startCapture({ format: 'json' });
    getLogger('config').info('loaded', {
      password: 'p1',
      mqtt: { url: 'mqtt://broker:1883', Token: 't1', auth: { AUTHORIZATION: 'Bearer t2' } },
      devices: [{ id: 'ble1', bind_key: 'k1', options: { Secret: 's1' } }],
      mqttPassword: 'p2',
      tokenCount: 3,
    });
    const [entry] = log.entries;
    expect(entry?.meta).toEqual({
      password: '***',
      mqtt: { url: 'mqtt://broker:1883', Token: '***', auth: { AUTHORIZATION: '***' } },
      devices: [{ id: 'ble1', bind_key: '***', options: { Secret: '***' } }],
      mqttPassword: '***',
      tokenCount: 3,
    });
    for (const line of [...log.lines('json'), ...log.lines('pretty')]) {
      for (const secret of ['p1', 'p2', 't1', 't2', 'k1', 's1'])
        expect(line).not.toMatch(new RegExp(`\\b${secret}\\b`));
    }
  });

  it('masks secrets attached to errors and credentials inside URLs', () => {
    const log = startCapture();
    const err = Object.assign(new Error('auth failed for mqtt://gw:hunter2@broker'), {
      options: { username: 'gw', password: 'hunter2' },
    });
    getLogger('mqtt').error('connect failed to mqtt://gw:hunter2@broker:1883', { err });
    expect(JSON.stringify(log.entries)).not.toContain('hunter2');
    expect(log.entries[0]?.msg).toBe('connect failed to mqtt://gw:***@broker:1883');
  });

  it('survives cycles, bigint and binary payloads without throwing', () => {
    const log = startCapture();
    const node: Record<string, unknown> = { name: 'loop' };
    node.self = node;
    getLogger('device.mbus1').debug('frame', {
      node,
      big: 10n ** 20n,
      frame: Buffer.from([0x68, 0x04, 0x16]),
    });
    expect(log.entries).toEqual([]); // debug is off by default; now enable it
    configureLogging({ ...currentLoggingOptions(), level: 'debug' });
    getLogger('device.mbus1').debug('frame', {
      node,
      big: 10n ** 20n,
      frame: Buffer.from([0x68, 0x04, 0x16]),
    });
    expect(log.entries[0]?.meta).toEqual({
      node: { name: 'loop', self: '[Circular]' },
      big: '100000000000000000000',
      frame: '680416',
    });
  });
});

describe('logTransition', () => {
  it('writes one info line with from/to/reason also as fields', () => {
    const log = startCapture();
    const device = getLogger('device.heat1');
    logTransition(device, { from: 'connecting', to: 'connected', reason: 'connect succeeded', attempt: 2 });
    logTransition(device, { from: 'connected', to: 'degraded' });
    expect(log.entries.map(({ level, msg, meta }) => ({ level, msg, meta }))).toEqual([
      {
        level: 'info',
        msg: 'connecting → connected (connect succeeded)',
        meta: { from: 'connecting', to: 'connected', reason: 'connect succeeded', attempt: 2 },
      },
      { level: 'info', msg: 'connected → degraded', meta: { from: 'connected', to: 'degraded' } },
    ]);
  });
});
