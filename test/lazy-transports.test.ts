import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { BusRuntime } from '../src/drivers/contract.js';
import { BusRegistry } from '../src/hosting/busRegistry.js';
import { loggedModules, MODULE_LOG_IMPORT } from '../bench/moduleCensus.js';
import { eventually } from './helpers/eventually.js';

// Transports are loaded on first use: a production gateway (no `transport: simulated`) with one M-Bus
// line loads the M-Bus serial transport when its bus opens, and never dbus-next (BLE), node-hid (DALI)
// or any simulator. The gateway runs in a child process whose module loader records every module it
// resolves (a module.register() resolve hook), so what is checked is what Node really loaded.

const CHILD = fileURLToPath(new URL('./helpers/gatewayModulesChild.ts', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the gateway on `config` until `opened` is among its modules, and returns every module it loaded. */
async function modulesLoaded(config: string, opened: RegExp): Promise<string[]> {
  const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.txt`);
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER, '--import', MODULE_LOG_IMPORT, CHILD, config],
    {
      cwd: dir,
      env: { ...process.env, FB_MODULE_LOG: log },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const read = () => loggedModules(log);
  try {
    await eventually(() => read().some((url) => opened.test(url)), {
      what: `the gateway to load ${opened}`,
      timeoutMs: 30_000,
      intervalMs: 50,
      detail: () => `output:\n${output}`,
      abandon: () => (child.exitCode === null ? undefined : `exited (${child.exitCode})`),
    });
    // The bus has opened: whatever starting the gateway loads is loaded by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return read();
}

describe('lazy transports', () => {
  it('a gateway with one M-Bus serial line loads neither dbus-next, node-hid nor simulator code', async () => {
    const config = [
      // Nothing listens there: the gateway keeps retrying, which is all this test needs of MQTT.
      'mqtt: { server: "mqtt://127.0.0.1:9", base_topic: fb }',
      'http: { enabled: false }',
      `persistence: { path: ${join(dir, 'fieldbridge.db')} }`,
      'logging: { level: warn }',
      'devices:',
      `  - { id: heat, driver: mbus, port: ${join(dir, 'no-such-tty')}, address: 1 }`,
    ].join('\n');
    const modules = await modulesLoaded(config, /^src\/drivers\/mbus\/openBus\.ts$/);
    const source = (url: string) => url.replace(/^.*\/(src|node_modules)\//, '$1/');
    expect(modules.map(source)).toContain('node_modules/serialport/dist/index.js');
    const unwanted = modules.map(source).filter(
      (path) =>
        path.startsWith('node_modules/dbus-next/') ||
        path.startsWith('node_modules/node-hid/') ||
        // A simulator's CLI hook and usage text are declarations; the hook imports the simulator when run.
        (/^src\/drivers\/[^/]+\/simulator\//.test(path) && !/\/simulator\/(hook|usage)\.ts$/.test(path)) ||
        /^src\/drivers\/[^/]+\/simulatedBus\.ts$/.test(path) ||
        // The generic simulated driver's module (index, config, capabilities) is a declaration; its bus is simulation.
        ['src/drivers/shared/simulatedRuntime.ts', 'src/drivers/shared/simulatedBus.ts'].includes(path) ||
        /^src\/drivers\/shared\/bluez\/(dbus|gatt|simulator)\//.test(path) ||
        path === 'src/drivers/shared/bluez/session.ts' ||
        path === 'src/drivers/ble/runtime.ts' ||
        path === 'src/drivers/dali/runtime.ts',
    );
    expect(unwanted).toEqual([]);
  }, 60_000);

  it('a bus closed while its transport is still loading does not stay open', async () => {
    const registry = new BusRegistry();
    let closed = 0;
    let load: () => void = () => undefined;
    const loaded = new Promise<void>((resolve) => (load = resolve));
    registry.define('bus:slow', async () => {
      await loaded;
      return { busId: 'bus:slow', close: () => Promise.resolve(void closed++) } as unknown as BusRuntime;
    });
    const opening = registry.openBus('bus:slow');
    await registry.closeBus('bus:slow');
    load();
    await expect(opening).rejects.toThrow('bus "bus:slow" was closed while it was opening');
    expect(registry.find('bus:slow')).toBeUndefined();
    expect(closed).toBe(1);
  });
});
