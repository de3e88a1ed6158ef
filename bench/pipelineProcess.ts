import { configureLogging, DEFAULT_LOGGING_OPTIONS } from '../src/logging/index.js';
import { tuneHeapForGateway } from '../src/ops/heap.js';
import { measurePipeline } from './mqttPipeline.js';
import { SubscriberProcess } from './subscriber.js';

// The pipeline benchmark in a fresh process (forked by mqttPipeline.ts with the broker URL and pid):
// measures, sends the result to the parent, stops everything and exits.

const [url, brokerPid] = process.argv.slice(2);
const send = process.send?.bind(process);
if (!url || !send) throw new Error('run by bench/mqttPipeline.ts');
// This process stands for the gateway's: the same heap tuning as `fieldbridge start`.
tuneHeapForGateway();
configureLogging({ ...DEFAULT_LOGGING_OPTIONS, level: 'warn' });
// Without its parent nobody would stop it: go too.
const orphaned = () => process.exit(1);
process.once('disconnect', orphaned);
const subscriber = await SubscriberProcess.start(url);
try {
  const result = await measurePipeline({ url, pid: brokerPid ? Number(brokerPid) : undefined }, subscriber);
  await new Promise<void>((resolve, reject) =>
    send(result, undefined, {}, (error) => (error ? reject(error) : resolve())),
  );
} finally {
  await subscriber.close();
  process.off('disconnect', orphaned);
  process.disconnect();
}
