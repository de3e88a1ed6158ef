import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';

// The third-party protocol vectors live beside the project (../shared/vectors) or where
// FIELDBRIDGE_VECTORS points; they are never copied into the repository. Tests that need them skip,
// saying so, when the folder is absent.

const candidate = process.env.FIELDBRIDGE_VECTORS ?? resolve(import.meta.dirname, '../../../shared/vectors');

/** The vectors folder, or undefined when it is not there. */
export const VECTORS_DIR: string | undefined = existsSync(candidate) ? candidate : undefined;

/** `describe` that skips, saying why, when the vectors folder (or a sub-folder of it) is absent. */
export function describeWithVectors(name: string, subfolder: string, body: (dir: string) => void): void {
  const dir = VECTORS_DIR && join(VECTORS_DIR, subfolder);
  const present = dir !== undefined && existsSync(dir);
  if (!present) {
    console.warn(
      `skipping "${name}": test vectors not found at ${join(candidate, subfolder)} (set FIELDBRIDGE_VECTORS to the vectors folder)`,
    );
  }
  if (present) {
    describe(name, () => body(dir));
    return;
  }
  // The body is not run at all: it reads the vector files while collecting its tests.
  describe.skip(name, () => {
    it(`needs the test vectors (${join(candidate, subfolder)})`, () => undefined);
  });
}

export function vectorFiles(dir: string, extension: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(extension))
    .sort();
}

export function readVector(dir: string, name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}
