import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigWatch } from '../src/gateway/configWatch.js';

describe('config file watch', () => {
  const dirs: string[] = [];
  const watches: ConfigWatch[] = [];
  afterEach(() => {
    for (const watch of watches.splice(0)) watch.stop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  function setup() {
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-watch-'));
    dirs.push(dir);
    const path = join(dir, 'fieldbridge.yaml');
    writeFileSync(path, 'devices: []\n');
    const reloads: number[] = [];
    const logged: string[] = [];
    let answer: { ok: boolean; error?: string } = { ok: true };
    const watch = new ConfigWatch({
      path,
      debounceMs: 50,
      reload: async () => {
        reloads.push(Date.now());
        return answer;
      },
      log: (_level, message) => logged.push(message),
    });
    watches.push(watch);
    watch.start();
    return { dir, path, reloads, logged, setAnswer: (next: typeof answer) => (answer = next) };
  }

  it('reloads once per real change, also when an editor renames a new file over the old one', async () => {
    const { dir, path, reloads } = setup();
    writeFileSync(path, 'devices: []\n'); // same content: nothing to do
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reloads).toHaveLength(0);
    writeFileSync(path, 'devices: []\nlogging: { level: debug }\n');
    writeFileSync(path, 'devices: []\nlogging: { level: warn }\n'); // a burst is one reload
    await expect.poll(() => reloads.length).toBe(1);
    writeFileSync(join(dir, 'fieldbridge.yaml.tmp'), 'devices: []\n# edited\n');
    renameSync(join(dir, 'fieldbridge.yaml.tmp'), path);
    await expect.poll(() => reloads.length).toBe(2);
  });

  it('logs a refused change with its reason', async () => {
    const { path, logged, setAnswer } = setup();
    setAnswer({ ok: false, error: 'devices[0].id: is required' });
    writeFileSync(path, 'devices: [{}]\n');
    await expect
      .poll(() => logged.at(-1))
      .toBe('the changed config was not applied: devices[0].id: is required');
  });
});
