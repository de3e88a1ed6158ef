import { type ChildProcess, fork } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// How the benchmarks run their child processes: the way the parent itself runs. `npm run bench`
// compiles the benchmarks with the sources (tsconfig.bench.json) and runs the JavaScript with plain
// node, as `npm start` runs the gateway, so no process pays for a TypeScript loader (tsx: a second
// V8 isolate of its own, ~30 MB of RSS). Started as TypeScript (`node --import tsx bench/run.ts`), the
// children run under tsx too, and the figures say so.

/** True when this file runs as compiled JavaScript. */
export const COMPILED = import.meta.url.endsWith('.js');

/** The benchmarks' folder in the source tree (compiled, this file is in dist/bench/bench/). */
export const BENCH_SOURCE_DIR = COMPILED
  ? resolve(import.meta.dirname, '../../../bench')
  : import.meta.dirname;

/** How the measured processes run, for the printed figures. */
export const RUNTIME = COMPILED ? 'compiled JS, plain node' : 'TypeScript under tsx';

/** Forks the bench script `name` (without extension, next to this file) with `args`. */
export function forkBenchScript(name: string, args: string[], execArgv: string[] = []): ChildProcess {
  const script = fileURLToPath(new URL(`./${name}.${COMPILED ? 'js' : 'ts'}`, import.meta.url));
  return fork(script, args, {
    execArgv: COMPILED ? execArgv : [...execArgv, '--import', 'tsx'],
    stdio: 'inherit',
  });
}
