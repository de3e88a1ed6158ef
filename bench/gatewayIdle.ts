import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectAsync } from 'mqtt';
import { freePort } from './broker.js';
import { bareNode, type Idle, idleFigures, idleNode, sampleIdle, stop } from './demo.js';
import { describeModules, loggedModules, MODULE_LOG_IMPORT } from './moduleCensus.js';
import { startBenchBroker } from './mqttRig.js';
import type { Figure } from './report.js';
import { COMPILED } from './scripts.js';
import { HEAP_GROWING_PERCENT } from '../src/ops/heap.js';

// A production gateway doing nothing: one M-Bus line (an Ethernet converter's TCP port) whose three
// meters are served by `fieldbridge simulate mbus --tcp` in another process, mosquitto as the broker,
// the HTTP server on. Once every meter is online: RSS and CPU over the idle window, against a bare
// node process sampled the same way in the same run. Goal: RSS ≤ 1.5× and CPU ≤ 0.5 % of a core.
// Where the memory goes comes from the gateway's own /metrics (V8 heap) and from a second run of the
// same config whose module loader logs every module (not the measured run: the loader hook has a
// thread of its own).

export const GATEWAY_IDLE_TITLE = 'Gateway idle (one M-Bus line, meters simulated in another process)';
const METERS = ['meter_1', 'meter_2', 'meter_3'];
const ONLINE_TIMEOUT_MS = 60_000;
const RSS_GOAL = 1.5;
const CPU_GOAL = 0.5;
const MB = 1e6;

const CLI = COMPILED
  ? resolve(import.meta.dirname, '../src/cli.js')
  : resolve(import.meta.dirname, '../src/cli.ts');

function cli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; imports?: string[] }) {
  const imports = [...(COMPILED ? [] : ['--import', 'tsx']), ...(options.imports ?? [])];
  const child = spawn(process.execPath, [...imports, CLI, ...args], {
    cwd: options.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  return { child, stderr: () => stderr };
}

function config(dir: string, brokerUrl: string, meterPort: number, httpPort: number): string {
  return [
    `mqtt: { server: ${brokerUrl}, base_topic: idle }`,
    `http: { port: ${httpPort} }`,
    `persistence: { path: ${join(dir, 'fieldbridge.db')} }`,
    'devices:',
    ...METERS.map(
      (id, index) =>
        `  - { id: ${id}, driver: mbus, port: "tcp://127.0.0.1:${meterPort}", address: ${index + 1} }`,
    ),
  ].join('\n');
}

/** Resolves when every meter's availability is `online`. */
async function metersOnline(brokerUrl: string, stderr: () => string): Promise<void> {
  const client = await connectAsync(brokerUrl, { reconnectPeriod: 0 });
  try {
    const online = new Set<string>();
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`the meters were not online within ${ONLINE_TIMEOUT_MS} ms:\n${stderr()}`)),
        ONLINE_TIMEOUT_MS,
      );
      client.on('message', (topic, payload) => {
        const id = /^idle\/([^/]+)\/availability$/.exec(topic)?.[1];
        if (id === undefined) return;
        if (payload.toString() === 'online') online.add(id);
        else online.delete(id);
        if (METERS.every((meter) => online.has(meter))) {
          clearTimeout(timer);
          done();
        }
      });
      void client.subscribeAsync('idle/+/availability');
    });
  } finally {
    await client.endAsync();
  }
}

/** The gateway's V8 heap and RSS as its /metrics says (prom-client's default metrics). */
async function heapOf(httpPort: number): Promise<{ heapUsed: number; heapTotal: number; rss: number }> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    heapUsed: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
    rss: value('process_resident_memory_bytes'),
  };
}

async function withGateway<T>(
  run: (gateway: ChildProcess, httpPort: number, stderr: () => string) => Promise<T>,
  imports: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-bench-idle-'));
  const broker = await startBenchBroker();
  const meterPort = await freePort();
  const simulator = cli(['simulate', 'mbus', '--tcp', String(meterPort), '--meters', '3'], { cwd: dir });
  let gateway: ChildProcess | undefined;
  try {
    const httpPort = await freePort();
    writeFileSync(join(dir, 'fieldbridge.yaml'), config(dir, broker.url, meterPort, httpPort));
    const started = cli(['start', '--config', join(dir, 'fieldbridge.yaml')], { cwd: dir, env, imports });
    gateway = started.child;
    await metersOnline(broker.url, started.stderr);
    return await run(gateway, httpPort, started.stderr);
  } finally {
    if (gateway) await stop(gateway);
    await stop(simulator.child);
    await broker.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Modules loaded by the same gateway (a second run, with the loader logging them). */
async function moduleCensus(): Promise<string> {
  const log = join(tmpdir(), `fieldbridge-bench-modules-${process.pid}.txt`);
  try {
    return await withGateway(
      async () => describeModules(loggedModules(log)),
      ['--import', MODULE_LOG_IMPORT],
      { FB_MODULE_LOG: log },
    );
  } finally {
    rmSync(log, { force: true });
  }
}

/**
 * The packages an idle gateway cannot do without, loaded by a process that does nothing else: what
 * they cost before fieldbridge's own code runs. The design card fixes xstate, mqtt, better-sqlite3 and
 * winston; the config needs yaml and zod, /metrics prom-client (one SQLite database is opened, as the
 * gateway opens one). With the gateway's heap tuning, so the two are measured alike.
 */
export const GATEWAY_PACKAGES = ['xstate', 'mqtt', 'better-sqlite3', 'winston', 'yaml', 'zod', 'prom-client'];

function packagesOnly(): Promise<Idle> {
  return idleNode(
    `(await import('node:v8')).setFlagsFromString('--heap-growing-percent=${HEAP_GROWING_PERCENT}');` +
      `for (const name of ${JSON.stringify(GATEWAY_PACKAGES)}) await import(name);` +
      `const { default: Database } = await import('better-sqlite3'); new Database(':memory:').exec('create table t (x)');` +
      `setInterval(() => {}, 1000); process.send?.('up');`,
  );
}

export async function benchGatewayIdle(): Promise<Figure[]> {
  const { idle, heap } = await withGateway(async (gateway, httpPort) => {
    const measured: Idle = await sampleIdle(gateway.pid as number);
    return { idle: measured, heap: await heapOf(httpPort) };
  });
  const bare = await bareNode();
  const packages = await packagesOnly();
  const modules = await moduleCensus();
  const rssRatio = idle.rssMean / bare.rssMean;
  console.log(
    `  idle gateway: RSS mean ${(idle.rssMean / MB).toFixed(1)} MB (max ${(idle.rssMax / MB).toFixed(1)}), ` +
      `${rssRatio.toFixed(2)}× a bare node process (${(bare.rssMean / MB).toFixed(1)} MB; goal ≤ ${RSS_GOAL}×); ` +
      `CPU ${idle.cpuPercent.toFixed(2)} % of a core (bare node ${bare.cpuPercent.toFixed(2)} %; goal ≤ ${CPU_GOAL} %)\n` +
      `  where the memory goes: V8 heap ${(heap.heapUsed / MB).toFixed(1)} MB used of ` +
      `${(heap.heapTotal / MB).toFixed(1)} MB, of ${(heap.rss / MB).toFixed(1)} MB RSS; ${modules}\n` +
      `  the packages alone (${GATEWAY_PACKAGES.join(', ')}; nothing of fieldbridge): RSS ` +
      `${(packages.rssMean / MB).toFixed(1)} MB, ${(packages.rssMean / bare.rssMean).toFixed(2)}× bare node; ` +
      `fieldbridge's own code and data: ${((idle.rssMean - packages.rssMean) / MB).toFixed(1)} MB`,
  );
  return [
    ...idleFigures('gateway', idle, bare),
    {
      name: 'gateway idle RSS (mean)',
      value: idle.rssMean / MB,
      unit: 'MB',
      baselineName: 'its packages alone',
      baseline: packages.rssMean / MB,
      better: 'lower',
    },
  ];
}
