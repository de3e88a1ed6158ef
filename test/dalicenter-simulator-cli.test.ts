import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  parseDiscoveryResponse,
  buildDiscoveryRequest,
  getVersion,
} from '../src/drivers/dalicenter/codec/index.js';
import { runDaliCenterSimulate } from '../src/drivers/dalicenter/simulator/cli.js';
import { daliCenterSimulator } from '../src/drivers/dalicenter/simulator/hook.js';
import type { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { eventually } from './helpers/eventually.js';
import { GatewayClient, UdpListener } from './helpers/daliCenter.js';

// `fieldbridge simulate dalicenter` in process: its command line, its banner, a client talking to the
// broker it starts, the console on stdin and the signals, and a clean stop on SIGINT.

describe('fieldbridge simulate dalicenter', () => {
  it('starts a gateway from its options, obeys the console, stops on SIGINT', async () => {
    const stdin = new PassThrough();
    const handlers = new Map<string, () => void>();
    let stdout = '';
    const io = {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: () => true },
      env: {},
      cwd: '/',
    };
    const listener = await UdpListener.open();
    const done = runDaliCenterSimulate(
      [
        '--port',
        '0',
        '--discovery-port',
        '0',
        '--bind',
        '127.0.0.1',
        '--interface',
        '127.0.0.1',
        '--reply-port',
        String(listener.port),
        '--serial',
        '0225020273AC',
        '--user',
        'me',
        '--password',
        'pw',
        '-v',
      ],
      io,
      {
        stdin,
        onSignal: (signal, handler) => {
          handlers.set(signal, handler);
          return () => handlers.delete(signal);
        },
      },
    );
    await eventually(() => stdout.includes('Ctrl-C stops'), { what: 'the banner', detail: () => stdout });
    const url = /broker (mqtt:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    const discoveryPort = Number(/discovery on UDP (\d+)/.exec(stdout)?.[1]);
    expect(url).toBeDefined();
    expect(stdout).not.toContain('pw');

    // A stand-in with what GatewayClient reads: the real gateway is inside the command.
    const gateway = {
      mqttUrl: url,
      serial: '0225020273AC',
      commandTopic: '/0225020273AC/server/publish/',
      reportTopic: '/0225020273AC/client/reciver/',
    } as unknown as SimulatedDaliCenter;
    const client = await GatewayClient.connect(gateway, { username: 'me', password: 'pw' });
    await client.send(getVersion());
    await client.waitFor((message) => message.cmd === 'getVersionRes');
    expect(stdout).toMatch(/from test_0225020273AC_\S+: getVersion \(msgId/);

    stdin.write('panel 22 2 hold\n');
    await client.waitFor((message) => message.cmd === 'devStatus' && message.report.kind === 'panel');
    stdin.write('frobnicate\n');
    await eventually(() => stdout.includes('unknown command "frobnicate"'), {
      what: 'the refusal',
      detail: () => stdout,
    });

    handlers.get('SIGUSR1')!();
    await eventually(() => stdout.includes('button pressed for 30 s'), {
      what: 'the press',
      detail: () => stdout,
    });
    await listener.send(buildDiscoveryRequest(), discoveryPort);
    await listener.waitForCount(1);
    const announced = parseDiscoveryResponse(listener.received[0]!);
    expect(announced.ok && announced.value.credentials).toEqual({ username: 'me', password: 'pw' });

    stdin.write('status\n');
    await eventually(() => stdout.includes('1 client(s)'), { what: 'the status', detail: () => stdout });
    await client.close();
    handlers.get('SIGINT')!();
    expect(await done).toBe(0);
    await listener.close();
  });

  it('refuses a bad command line with a usage error', async () => {
    const runtime = { stdin: undefined, onSignal: () => () => undefined };
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {}, cwd: '/' };
    await expect(runDaliCenterSimulate(['--port', 'x'], io, runtime)).rejects.toThrow(
      /--port must be a port/,
    );
    await expect(runDaliCenterSimulate(['--host', 'gateway.local'], io, runtime)).rejects.toThrow(
      /--host must be an IPv4/,
    );
    await expect(runDaliCenterSimulate(['--serial', 'a/b'], io, runtime)).rejects.toThrow(/--serial/);
    expect(daliCenterSimulator.bus).toBe('dalicenter');
    expect(daliCenterSimulator.usage).toContain('--discovery-port');
  });
});
