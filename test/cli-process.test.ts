import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const cliPath = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** Runs src/cli.ts in a real process (through tsx) to check the thin wrapper sets the exit code. */
async function runProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      cliPath,
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the fieldbridge executable', () => {
  it('prints the version and exits 0', async () => {
    const result = await runProcess(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 on an unknown command', async () => {
    const result = await runProcess(['nonsense']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "nonsense"');
  });
});
