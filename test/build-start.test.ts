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

describe('the fieldbridge command of a clone (npx fieldbridge)', () => {
  // npx links the package's bin once and keeps that link; dist/cli.js is rewritten (and loses the
  // executable bit npx gave it) by every clean build, and is missing in a fresh clone. The bin is a
  // launcher kept in git instead, executable, that runs dist/cli.js or says how to build it.
  const launcher = join(root, packageJson.bin.fieldbridge as string);
  const project = mkdtempSync(join(tmpdir(), 'fieldbridge-bin-'));
  afterAll(() => rmSync(project, { recursive: true, force: true }));
  mkdirSync(join(project, 'bin'));
  copyFileSync(launcher, join(project, 'bin/fieldbridge.js'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module' }));
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [join(project, 'bin/fieldbridge.js'), ...args], { encoding: 'utf8' });

  it('is an executable file in the repository, not the build output', () => {
    expect(packageJson.bin.fieldbridge).toBe('bin/fieldbridge.js');
    expect(statSync(launcher).mode & 0o111).not.toBe(0);
    expect(readFileSync(launcher, 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
  });

  it('says how to build the CLI when dist/ is missing', () => {
    const result = run('--version');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `fieldbridge is not built yet (${join(project, 'dist/cli.js')} is missing)`,
    );
    expect(result.stderr).toContain('run "npm run build" (or "npm start")');
  });

  it('runs dist/cli.js with the arguments', () => {
    mkdirSync(join(project, 'dist'), { recursive: true });
    writeFileSync(
      join(project, 'dist/cli.js'),
      'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n',
    );
    const result = run('check-config', '--config', 'x.yaml');
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(['check-config', '--config', 'x.yaml']);
  });
});
