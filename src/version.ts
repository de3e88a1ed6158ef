// The version printed by --version comes from package.json at run time, found by walking up from this
// file, so it is right both from src/ (tsx, vitest) and from dist/ without copying the file around.

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const PACKAGE_NAME = 'fieldbridge';
const packageJson = z.object({ name: z.string(), version: z.string() });

export async function readPackageVersion(): Promise<string> {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(directory, 'package.json');
    const text = await readFile(candidate, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const parsed = packageJson.safeParse(JSON.parse(text));
      if (parsed.success && parsed.data.name === PACKAGE_NAME) return parsed.data.version;
    }
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`cannot find the package.json of ${PACKAGE_NAME}`);
    directory = parent;
  }
}
