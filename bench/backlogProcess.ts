import { configureLogging, DEFAULT_LOGGING_OPTIONS } from '../src/logging/index.js';
import { tuneHeapForGateway } from '../src/ops/heap.js';
import { measureBacklog } from './backlog.js';
import { SubscriberProcess } from './subscriber.js';

// The backlog benchmark in a fresh process (forked by backlog.ts with the broker URL): measures, sends
// the result to the parent, stops everything and exits.

const url = process.argv[2];
const send = process.send?.bind(process);
if (!url || !send) throw new Error('run by bench/backlog.ts');
// This process stands for the gateway's: the same heap tuning as `fieldbridge start`.
tuneHeapForGateway();
configureLogging({ ...DEFAULT_LOGGING_OPTIONS, level: 'warn' });
// Without its parent nobody would stop it (the link would retry forever): go too.
const orphaned = () => process.exit(1);
process.once('disconnect', orphaned);
const subscriber = await SubscriberProcess.start(url);
try {
  const result = await measureBacklog(url, subscriber);
  await new Promise<void>((resolve, reject) =>
    send(result, undefined, {}, (error) => (error ? reject(error) : resolve())),
  );
} finally {
  await subscriber.close();
  process.off('disconnect', orphaned);
  process.disconnect();
}
