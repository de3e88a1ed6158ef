#!/usr/bin/env node
// The `fieldbridge` executable: a thin wrapper that hands the process's I/O to runCli.

import { runCli } from './cli/run.js';

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
