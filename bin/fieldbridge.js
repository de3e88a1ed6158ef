#!/usr/bin/env node
// The `fieldbridge` command (`npx fieldbridge …` in a clone, or the installed package's command): runs
// the CLI that `npm run build` compiles into dist/, and says how to get it when it is not built yet,
// instead of the shell's bare "fieldbridge: not found".

import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (existsSync(cli)) {
  await import(cli.href);
} else {
  const project = dirname(dirname(fileURLToPath(cli)));
  process.stderr.write(
    `fieldbridge is not built yet (${fileURLToPath(cli)} is missing): run "npm run build" (or "npm start") in ${project}\n`,
  );
  process.exitCode = 1;
}
