import { measureInFreshProcess } from './freshProcess.js';
import { measurePipeline } from './mqttPipeline.js';

// The pipeline benchmark in a fresh process, forked by mqttPipeline.ts with the broker URL and pid.

await measureInFreshProcess('bench/mqttPipeline.ts', (url, [brokerPid], subscriber) =>
  measurePipeline({ url, pid: brokerPid ? Number(brokerPid) : undefined }, subscriber),
);
