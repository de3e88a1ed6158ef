import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli } from '../src/cli/run.js';
import type { FieldbridgeConfig } from '../src/config/index.js';
import { Subscriber } from './helpers/gatewayRig.js';
import { describeWithMosquitto, freePort, Mosquitto } from './helpers/mosquitto.js';
import { GatewayProcess } from './helpers/process.js';

// The demo as a new user meets it: `fieldbridge start` in a directory without fieldbridge.yaml, then
// their own config started from the same directory. Real processes; FIELDBRIDGE_MQTT_PORT keeps the
// demo's broker off 1883, which the machine's own Mosquitto may hold.

const dirs: string[] = [];
const processes: GatewayProcess[] = [];
const subscribers: Subscriber[] = [];
afterEach(async () => {
  for (const subscriber of subscribers.splice(0)) await subscriber.close().catch(() => {});
  for (const child of processes.splice(0)) {
    if (child.child.exitCode === null) child.kill('SIGKILL');
    await child.exited;
  }
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function directory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-demo-'));
  dirs.push(dir);
  return dir;
}

function spawnCli(args: string[], cwd: string, env: Record<string, string>): GatewayProcess {
  const child = new GatewayProcess(args, { cwd, env });
  processes.push(child);
  return child;
}

async function stop(child: GatewayProcess): Promise<void> {
  child.kill('SIGTERM');
  const late = new Promise((resolve) =>
    setTimeout(() => resolve('still running 10 s after SIGTERM'), 10_000),
  );
  const exit = await Promise.race([child.exited, late]);
  expect(exit, child.output).toEqual({ code: 0, signal: null });
}

async function cli(argv: string[], cwd: string, env: Record<string, string>) {
  const out = { code: 0, stdout: '', stderr: '' };
  const io = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
    env: { ...process.env, ...env },
    cwd,
  };
  out.code = await runCli(argv, io);
  return out;
}

/** Ids in the retained `<base>/bridge/devices` list. */
function bridgeDevices(sub: Subscriber, base: string): string[] {
  const last = sub.on(`${base}/bridge/devices`).at(-1);
  return last === undefined ? [] : (JSON.parse(last.payload) as { id: string }[]).map((device) => device.id);
}

describe('the demo', () => {
  it('runs what check-config shows, keeps its own database, and leaves nothing to a real config started later', async () => {
    const dir = directory();
    const port = await freePort();
    const env = { FIELDBRIDGE_MQTT_PORT: String(port) };
    const checked = await cli(['check-config'], dir, env);
    expect(checked.code).toBe(0);
    const shown = (parse(checked.stdout) as FieldbridgeConfig).devices.map((device) => device.id);

    const demo = spawnCli(['start'], dir, env);
    await demo.waitFor(/started: \d+ devices/, 30_000);
    expect(demo.output).toContain(`${shown.length} simulated devices: ${shown.join(', ')}`);
    const sub = await Subscriber.start(`mqtt://127.0.0.1:${port}`, ['fieldbridge/#']);
    subscribers.push(sub);
    // Every device check-config showed is running (a BLE line adds the sensors it hears, as it says).
    await sub.waitFor('the demo devices', () =>
      shown.every((id) => bridgeDevices(sub, 'fieldbridge').includes(id)),
    );
    // The meters speak M-Bus: their readings are meter records.
    await sub.waitFor('a heat meter reading', () => sub.on('fieldbridge/demo_heat_meter/reading').length > 0);
    const reading = sub.json<{ meter: { medium: string }; records: unknown[] }>(
      'fieldbridge/demo_heat_meter/reading',
    )[0];
    expect(reading?.meter.medium).toMatch(/^Heat/);
    expect(reading?.records.length).toBeGreaterThan(3);
    await sub.close();
    await stop(demo);
    expect(existsSync(join(dir, 'data/demo.db'))).toBe(true);
    expect(existsSync(join(dir, 'data/fieldbridge.db'))).toBe(false);

    // The user's own config, started from the same directory with the default persistence.path.
    writeFileSync(
      join(dir, 'fieldbridge.yaml'),
      `mqtt: { embedded_port: ${await freePort()} }\ndevices:\n  - { id: real1, driver: simulated }\n`,
    );
    const real = spawnCli(['start'], dir, {});
    await real.waitFor(/started: 1 devices on 1 buses/, 30_000);
    await stop(real);
    expect(real.output).not.toMatch(/demo_|found by a scan/);
    const exported = await cli(['export'], dir, {});
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('real1');
    expect(exported.stdout).not.toContain('demo_');
    expect(exported.stdout).not.toMatch(/mbus_\d/);
  }, 90_000);
});

describeWithMosquitto('the demo beside a running Mosquitto', () => {
  it('uses the broker that holds the embedded port, says so, and leaves nothing retained there', async () => {
    const broker = await Mosquitto.start();
    try {
      const demo = spawnCli(['start'], directory(), { FIELDBRIDGE_MQTT_PORT: String(broker.port) });
      await demo.waitFor(/started: \d+ devices/, 30_000);
      expect(demo.output).toContain(
        `port ${broker.port} is taken, so the demo uses the MQTT broker already there`,
      );
      const sub = await Subscriber.start(broker.url, ['fieldbridge-demo/#', 'homeassistant/#']);
      subscribers.push(sub);
      await sub.waitFor(
        'meter readings and discovery configs on the existing broker',
        () =>
          sub.on('fieldbridge-demo/demo_heat_meter/reading').length > 0 &&
          sub.messages.some((m) => m.topic.startsWith('homeassistant/') && m.payload !== ''),
      );
      await stop(demo);

      // The user's broker keeps no phantom demo device: a new subscriber gets no retained message of
      // the demo but the bridge's own offline state.
      const after = await Subscriber.start(broker.url, ['fieldbridge-demo/#', 'homeassistant/#']);
      subscribers.push(after);
      await new Promise((settle) => setTimeout(settle, 1_000));
      expect(after.messages.filter((m) => m.retain).map((m) => `${m.topic} ${m.payload}`)).toEqual([
        'fieldbridge-demo/bridge/state {"state":"offline"}',
      ]);
    } finally {
      await broker.dispose();
    }
  }, 60_000);
});
