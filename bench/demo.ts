import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { sampleProcess } from '../scripts/soak/sampler.js';
import { DEMO_MQTT_PORT_ENV } from '../src/cli/demo.js';
import { freePort } from './broker.js';
import { processCpuSeconds } from './cpuTime.js';
import type { Figure } from './report.js';
import { COMPILED } from './scripts.js';

// The gateway as a user first meets it: `fieldbridge start` without a config file runs the demo (the
// embedded broker, on a free port here so a broker on 1883 does not make it use that one instead; a
// simulated device of every driver, the M-Bus meters on the in-process meter simulator, the BLE sensors
// on a fake BlueZ when dbus-daemon is). Measured from the
// outside, on a process of its own: the time from spawn to the bridge saying `online` and to every demo
// device being `online`, then the RSS and CPU of the idle gateway (devices polling at their defaults)
// over IDLE_SECONDS after SETTLE_SECONDS. The baselines: a bare `node` process doing nothing, started
// and sampled the same way, so what Node itself costs is visible.

const BASE = 'fieldbridge';
const ONLINE_TIMEOUT_MS = 60_000;
const SETTLE_SECONDS = 10;
const IDLE_SECONDS = 30;
const MB = 1e6;

const CLI = COMPILED
  ? resolve(import.meta.dirname, '../src/cli.js')
  : resolve(import.meta.dirname, '../src/cli.ts');

async function connectWhenUp(port: number, deadline: number): Promise<MqttClient> {
  for (;;) {
    try {
      return await connectAsync(`mqtt://127.0.0.1:${port}`, {
        reconnectPeriod: 0,
        connectTimeout: 1_000,
      });
    } catch (error) {
      if (performance.now() > deadline) throw error;
      await new Promise((wait) => setTimeout(wait, 20));
    }
  }
}

export interface Idle {
  rssMean: number;
  rssMax: number;
  cpuPercent: number;
}

/** RSS every second and CPU over IDLE_SECONDS, after SETTLE_SECONDS. */
export async function sampleIdle(pid: number): Promise<Idle> {
  await new Promise((wait) => setTimeout(wait, SETTLE_SECONDS * 1000));
  const cpuBefore = processCpuSeconds(pid);
  const begin = performance.now();
  const samples: number[] = [];
  for (let i = 0; i < IDLE_SECONDS; i++) {
    const sample = await sampleProcess(pid);
    if (sample === undefined) throw new Error(`process ${pid} is gone: the demo stopped while idle`);
    samples.push(sample.rssKiB * 1024);
    await new Promise((wait) => setTimeout(wait, 1_000));
  }
  const seconds = (performance.now() - begin) / 1000;
  return {
    rssMean: samples.reduce((sum, rss) => sum + rss, 0) / samples.length,
    rssMax: Math.max(...samples),
    cpuPercent: ((processCpuSeconds(pid) - cpuBefore) / seconds) * 100,
  };
}

export function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return exited.finally(() => clearTimeout(force));
}

/** A bare node process (a timer keeps it alive), sampled like the gateway: what Node alone costs. */
/** An idle process's RSS and CPU as figures against a bare node process in the same run. */
export function idleFigures(label: string, idle: Idle, bare: Idle): Figure[] {
  return [
    {
      name: `${label} idle RSS (mean)`,
      value: idle.rssMean / MB,
      unit: 'MB',
      baselineName: 'bare node process',
      baseline: bare.rssMean / MB,
      better: 'lower',
    },
    {
      name: `${label} idle CPU`,
      value: idle.cpuPercent,
      unit: '% of a core',
      baselineName: 'bare node process',
      // A bare process can measure 0 %: the ratio needs a floor.
      baseline: Math.max(bare.cpuPercent, 0.01),
      better: 'lower',
    },
  ];
}

export async function bareNode(): Promise<Idle & { startMs: number }> {
  return idleNode('setInterval(() => {}, 1000); process.send?.("up")');
}

/** A node process running `script` (an ES module that sends "up" once ready), sampled like the gateway. */
export async function idleNode(script: string): Promise<Idle & { startMs: number }> {
  const begin = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: resolve(import.meta.dirname, '..'),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise((up) => child.once('message', up));
  const startMs = performance.now() - begin;
  try {
    return { ...(await sampleIdle(child.pid as number)), startMs };
  } finally {
    await stop(child);
  }
}

export async function benchDemo(): Promise<Figure[] | string> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-bench-demo-'));
  const begin = performance.now();
  const child = spawn(process.execPath, [...(COMPILED ? [] : ['--import', 'tsx']), CLI, 'start'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', [DEMO_MQTT_PORT_ENV]: String(port) },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let client: MqttClient | undefined;
  try {
    const deadline = begin + ONLINE_TIMEOUT_MS;
    client = await connectWhenUp(port, deadline);
    const availability = new Map<string, string>();
    let devices: string[] | undefined;
    let bridgeOnlineMs: number | undefined;
    let allOnlineMs: number | undefined;
    const allOnline = new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () =>
          fail(new Error(`the demo was not online within ${ONLINE_TIMEOUT_MS} ms:\n${stderr.slice(-2_000)}`)),
        Math.max(0, deadline - performance.now()),
      );
      client?.on('message', (topic, payload) => {
        const text = payload.toString();
        if (topic === `${BASE}/bridge/state` && text.includes('online'))
          bridgeOnlineMs ??= performance.now() - begin;
        if (topic === `${BASE}/bridge/devices`)
          devices = (JSON.parse(text) as { id: string }[]).map((d) => d.id);
        const device = /^fieldbridge\/([^/]+)\/availability$/.exec(topic)?.[1];
        if (device !== undefined) availability.set(device, text);
        if (
          bridgeOnlineMs !== undefined &&
          devices !== undefined &&
          devices.every((id) => availability.get(id) === 'online')
        ) {
          allOnlineMs ??= performance.now() - begin;
          clearTimeout(timer);
          done();
        }
      });
    });
    await client.subscribeAsync(`${BASE}/#`);
    await allOnline;
    const idle = await sampleIdle(child.pid as number);
    const bare = await bareNode();
    console.log(
      `  the demo (${devices?.length ?? 0} devices: ${devices?.join(', ')}): bridge online ` +
        `${Math.round(bridgeOnlineMs ?? NaN)} ms and every device online ${Math.round(allOnlineMs ?? NaN)} ms after ` +
        `spawn; idle over ${IDLE_SECONDS} s after ${SETTLE_SECONDS} s: RSS mean ${(idle.rssMean / MB).toFixed(0)} MB, ` +
        `max ${(idle.rssMax / MB).toFixed(0)} MB, CPU ${idle.cpuPercent.toFixed(2)} % of one core; a bare node ` +
        `process: up in ${Math.round(bare.startMs)} ms, RSS ${(bare.rssMean / MB).toFixed(0)} MB, CPU ` +
        `${bare.cpuPercent.toFixed(2)} %`,
    );
    return [
      {
        name: 'demo: spawn → bridge/state online',
        value: bridgeOnlineMs ?? NaN,
        unit: 'ms',
        baselineName: 'bare node process start',
        baseline: bare.startMs,
        better: 'lower',
      },
      {
        name: 'demo: spawn → every device online',
        value: allOnlineMs ?? NaN,
        unit: 'ms',
        baselineName: 'bare node process start',
        baseline: bare.startMs,
        better: 'lower',
      },
      ...idleFigures('demo', idle, bare),
    ];
  } finally {
    await client?.endAsync().catch(() => undefined);
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}
