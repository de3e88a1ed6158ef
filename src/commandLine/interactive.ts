import { createInterface } from 'node:readline';
import type { SimulateRuntime } from './io.js';

/**
 * Runs a simulator until SIGINT/SIGTERM, taking one stdin line at a time as a command (a fault such as
 * an unplug must finish before the line typed right after it starts) and mapping SIGUSR1/SIGUSR2 to
 * commands. Shared by every `simulate` bus. `ready` runs once every handler is in place: a banner
 * printed there invites signals only when they are handled (an early SIGUSR1 would start Node's
 * debugger instead).
 */
export async function runInteractively(
  runtime: SimulateRuntime,
  simulator: { execute(line: string): Promise<string>; stop(): Promise<void> },
  signalCommands: { SIGUSR1: string; SIGUSR2: string },
  ready: () => void,
): Promise<void> {
  let queue = Promise.resolve();
  const run = (line: string) => {
    queue = queue.then(async () => void (await simulator.execute(line)));
  };
  const lines = runtime.stdin === undefined ? undefined : createInterface({ input: runtime.stdin });
  lines?.on('line', run);
  // Signal handlers do not keep Node running: without a terminal on stdin (a service, `&`, stdin
  // closed), an unplug that closes the simulator's last handle would end the process mid-run.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  const unsubscribe: (() => void)[] = [];
  await new Promise<void>((done) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) unsubscribe.push(runtime.onSignal(signal, done));
    unsubscribe.push(runtime.onSignal('SIGUSR1', () => run(signalCommands.SIGUSR1)));
    unsubscribe.push(runtime.onSignal('SIGUSR2', () => run(signalCommands.SIGUSR2)));
    ready();
  });
  for (const stop of unsubscribe) stop();
  clearInterval(keepAlive);
  lines?.close();
  await queue;
  await simulator.stop();
}
