import { configureLogging, DEFAULT_LOGGING_OPTIONS } from '../src/logging/index.js';
import { tuneHeapForGateway } from '../src/ops/heap.js';
import { forkBenchScript } from './scripts.js';
import { SubscriberProcess } from './subscriber.js';

// A measurement in a fresh gateway-like process, not in one that just ran other benchmarks (10,000
// actors leave a heap that makes every later collection slower): the parent forks a bench script with
// resultOfFreshProcess(), the script hands its measurement to measureInFreshProcess(), which sets the
// process up as `fieldbridge start` would, sends the result back, stops everything and exits.

/** Runs the bench script `name` (with --expose-gc) and resolves with the one result it sends back. */
export function resultOfFreshProcess<T>(name: string, args: string[]): Promise<T> {
  const child = forkBenchScript(name, args, ['--expose-gc']);
  return new Promise((resolve, reject) => {
    let result: T | undefined;
    child.once('message', (message: T) => (result = message));
    child.once('exit', (code) =>
      result !== undefined
        ? resolve(result)
        : reject(new Error(`the benchmark process ${name} failed (exit ${code})`)),
    );
  });
}

/**
 * The child's side: `measure` gets the arguments after the broker URL (the first) and a subscriber
 * process of its own on that broker; its result goes to the parent. `parent` names the script that
 * forks this one, for the error when it is started by hand.
 */
export async function measureInFreshProcess<T>(
  parent: string,
  measure: (url: string, args: string[], subscriber: SubscriberProcess) => Promise<T>,
): Promise<void> {
  const [url, ...args] = process.argv.slice(2);
  const send = process.send?.bind(process);
  if (!url || !send) throw new Error(`run by ${parent}`);
  // This process stands for the gateway's: the same heap tuning as `fieldbridge start`.
  tuneHeapForGateway();
  configureLogging({ ...DEFAULT_LOGGING_OPTIONS, level: 'warn' });
  // Without its parent nobody would stop it (a link would retry forever): go too.
  const orphaned = () => process.exit(1);
  process.once('disconnect', orphaned);
  const subscriber = await SubscriberProcess.start(url);
  try {
    const result = await measure(url, args, subscriber);
    await new Promise<void>((resolve, reject) =>
      send(result, undefined, {}, (error) => (error ? reject(error) : resolve())),
    );
  } finally {
    await subscriber.close();
    process.off('disconnect', orphaned);
    process.disconnect();
  }
}
