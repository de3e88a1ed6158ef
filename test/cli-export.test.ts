import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/run.js';
import { openPersistence } from '../src/persistence/index.js';
import { damageLeafPages } from './helpers/persistenceFiles.js';

async function exportFrom(dir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: dir,
  };
  const code = await runCli(['export', '--config', join(dir, 'fieldbridge.yaml')], io, {
    runGateway: async () => 0,
  });
  return { code, stdout, stderr };
}

describe('fieldbridge export', () => {
  it('writes the device states and the queued messages as JSON lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-export-'));
    writeFileSync(join(dir, 'fieldbridge.yaml'), 'persistence: { path: ./db/fieldbridge.db }\n');
    const persistence = openPersistence({ path: join(dir, 'db/fieldbridge.db') });
    persistence.states.save('heat1', { energy: 12.5 }, 1_000);
    persistence.enqueueReading({ deviceId: 'heat1', topic: 'fieldbridge/heat1/reading' }, (seq) =>
      JSON.stringify({ seq, energy: 12.5 }),
    );
    persistence.close();

    const result = await exportFrom(dir);
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      { type: 'device_state', deviceId: 'heat1', state: { energy: 12.5 }, at: 1_000 },
      expect.objectContaining({
        type: 'outbox',
        topic: 'fieldbridge/heat1/reading',
        payload: '{"seq":1,"energy":12.5}',
      }),
    ]);
    expect(result.stderr).toMatch(/exported 2 lines from /);
  });

  it('says so when there is no database yet (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-export-'));
    writeFileSync(join(dir, 'fieldbridge.yaml'), '{}\n');
    const result = await exportFrom(dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no database at .*fieldbridge\.db \(persistence\.path\)/);
  });

  it('refuses a persistence.path that is not a database and leaves it as it was (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-export-'));
    const config = 'persistence: { path: ./fieldbridge.yaml }\n';
    writeFileSync(join(dir, 'fieldbridge.yaml'), config);
    const result = await exportFrom(dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `persistence.path: ${join(dir, 'fieldbridge.yaml')} is not an SQLite database`,
    );
    expect(readFileSync(join(dir, 'fieldbridge.yaml'), 'utf8')).toBe(config);
    expect(readdirSync(dir)).toEqual(['fieldbridge.yaml']);
  });

  it('leaves a corrupt database where it is, for the gateway to recover (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-export-'));
    writeFileSync(join(dir, 'fieldbridge.yaml'), 'persistence: { path: ./db/fieldbridge.db }\n');
    const path = join(dir, 'db/fieldbridge.db');
    const persistence = openPersistence({ path });
    persistence.transaction(() => {
      for (let i = 0; i < 500; i += 1)
        persistence.outbox.enqueue({
          topic: 't',
          payload: 'x'.repeat(100),
          qos: 1,
          retain: false,
          kind: 'event',
        });
    });
    persistence.close();
    damageLeafPages(path, 'outbox', (pages) => pages.slice(0, 1));
    const damaged = readFileSync(path);

    const result = await exportFrom(dir);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/database .* is corrupt \(quick_check: .*\); left as it is/);
    expect(readFileSync(path).equals(damaged)).toBe(true);
    expect(readdirSync(join(dir, 'db')).filter((name) => name.includes('corrupt'))).toEqual([]);
  });
});
