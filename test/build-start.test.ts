import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` builds before it runs (prestart), and that build must cost nothing when no source
// changed: a full `tsc` of the gateway takes ~7 s on a quiet 2-core box. The project's own build
// script and tsconfig files are run here on a one-file project in a temporary directory, so what is
// tested is the real configuration: skipped when nothing changed, rebuilt when a source did, and a
// type error is reported on every start, never skipped as "up to date".

const root = join(import.meta.dirname, '..');
const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
};

describe('npm start builds only what changed', () => {
  const project = mkdtempSync(join(tmpdir(), 'fieldbridge-build-'));
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  copyFileSync(join(root, 'tsconfig.json'), join(project, 'tsconfig.json'));
  copyFileSync(join(root, 'tsconfig.build.json'), join(project, 'tsconfig.build.json'));
  symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'), 'dir');
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
  mkdirSync(join(project, 'src'));
  const source = join(project, 'src/cli.ts');
  const output = join(project, 'dist/cli.js');

  /** Runs the project's `build` script the way npm does (node_modules/.bin on the PATH). */
  function build(): { status: number | null; output: string } {
    const result = spawnSync('sh', ['-c', packageJson.scripts.build as string], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(project, 'node_modules/.bin')}${delimiter}${process.env.PATH}` },
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('runs the build before start', () => {
    expect(packageJson.scripts.prestart).toBe('npm run build --silent');
    expect(packageJson.scripts.start).toBe('node dist/cli.js start');
    expect(packageJson.bin.fieldbridge).toBe('dist/cli.js');
  });

  it('skips an up-to-date build, rebuilds a changed source, and never skips a type error', () => {
    writeFileSync(source, 'export const answer: number = 42;\n');
    expect(build()).toMatchObject({ status: 0 });
    expect(readFileSync(output, 'utf8')).toContain('answer = 42');
    const built = statSync(output).mtimeMs;

    // Nothing changed: nothing is written.
    expect(build()).toMatchObject({ status: 0 });
    expect(statSync(output).mtimeMs).toBe(built);

    // A changed source is compiled again.
    writeFileSync(source, 'export const answer: number = 43;\n');
    expect(build()).toMatchObject({ status: 0 });
    expect(readFileSync(output, 'utf8')).toContain('answer = 43');

    // A type error fails the build, and fails it again on the next start.
    writeFileSync(source, "export const answer: number = 'forty-four';\n");
    for (let run = 0; run < 2; run++) {
      const result = build();
      expect(result.status).not.toBe(0);
      expect(result.output).toContain('TS2322');
    }

    // dist removed (with the build info kept inside it): everything is built again.
    writeFileSync(source, 'export const answer: number = 45;\n');
    expect(build()).toMatchObject({ status: 0 });
    rmSync(join(project, 'dist'), { recursive: true });
    expect(build()).toMatchObject({ status: 0 });
    expect(readFileSync(output, 'utf8')).toContain('answer = 45');
  }, 60_000);
});
