import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './helpers/mosquitto.js';
import { GatewayProcess } from './helpers/process.js';

const started: GatewayProcess[] = [];
afterEach(() => {
  for (const gateway of started.splice(0)) gateway.kill('SIGKILL');
});

/** A temp directory with `fieldbridge.yaml` (its own embedded broker port, then `persistence`). */
async function configDirectory(persistencePath: (dir: string) => string) {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-dbpath-'));
  const config = join(dir, 'fieldbridge.yaml');
  const port = await freePort();
  writeFileSync(config, `mqtt: { embedded_port: ${port} }\npersistence:\n  path: ${persistencePath(dir)}\n`);
  return { dir, config };
}

/** Runs the CLI to its end (at most 20 s, then it is killed and the test fails). */
async function run(args: string[], cwd: string) {
  const gateway = new GatewayProcess(args, { cwd });
  started.push(gateway);
  const timeout = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error(`still running after 20 s:\n${gateway.output}`)), 20_000).unref(),
  );
  const { code } = await Promise.race([gateway.exited, timeout]);
  return { code, output: gateway.output };
}

describe('a persistence.path the gateway must not or cannot use, in a real process', () => {
  it('the config file itself: start and check-config exit 2 naming it, and it stays byte for byte', async () => {
    const { dir, config } = await configDirectory((d) => join(d, 'fieldbridge.yaml'));
    const before = readFileSync(config);

    for (const command of ['start', 'check-config']) {
      const { code, output } = await run([command, '--config', config], dir);
      expect(code, output).toBe(2);
      expect(output).toContain(
        `persistence.path: ${config} is not an SQLite database (it starts with "mqtt: {`,
      );
      expect(output).not.toMatch(/unexpected error|\n\s+at /);
      expect(readFileSync(config).equals(before)).toBe(true);
      expect(readdirSync(dir)).toEqual(['fieldbridge.yaml']);
    }
  });

  it('a directory: exit 2 with the reason, no stack trace, nothing created in it', async () => {
    const { dir, config } = await configDirectory((d) => join(d, 'data'));
    mkdirSync(join(dir, 'data'));

    for (const command of ['start', 'check-config']) {
      const { code, output } = await run([command, '--config', config], dir);
      expect(code, output).toBe(2);
      expect(output).toContain(`persistence.path: ${join(dir, 'data')} is a directory, not a database file`);
      expect(output).not.toMatch(/unexpected error|\n\s+at /);
      expect(readdirSync(join(dir, 'data'))).toEqual([]);
    }
  });
});
