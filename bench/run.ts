import { benchActorTree } from './actorTree.js';
import { benchBacklog } from './backlog.js';
import { benchDemo } from './demo.js';
import { benchGatewayIdle, GATEWAY_IDLE_TITLE } from './gatewayIdle.js';
import { benchLatency } from './latency.js';
import { printMbusDecode } from './mbusDecode.js';
import { benchMbusLine, MBUS_LINE_TITLE } from './mbusLine.js';
import { benchMqttPipeline } from './mqttPipeline.js';
import { startBenchBroker } from './mqttRig.js';
import { machineDescription, printFigures } from './report.js';
import { RUNTIME } from './scripts.js';
import { SubscriberProcess } from './subscriber.js';
import { configureLogging, DEFAULT_LOGGING_OPTIONS } from '../src/logging/index.js';

// `npm run bench`: every benchmark of the project, one after the other, each printing its figures with
// the baseline it names. Benchmarks are measurements, not tests: they never fail the build.

// `npm run bench -- pipeline backlog` runs only the parts named (while working on one of them).
const PARTS = [
  'actors',
  'mbus',
  'mbus-line',
  'pipeline',
  'backlog',
  'latency',
  'demo',
  'gateway-idle',
] as const;
type Part = (typeof PARTS)[number];
const named = process.argv.slice(2);
const unknown = named.filter((name) => !(PARTS as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}: choose from ${PARTS.join(', ')}`);
  process.exit(2);
}
const runs = (part: Part): boolean => named.length === 0 || named.includes(part);

const began = performance.now();
console.log(`# fieldbridge benchmarks\n\nmachine: ${machineDescription()}; ${RUNTIME}`);
if (runs('actors')) {
  printFigures('Actor tree (simulated transports, 100 devices per bus)', await benchActorTree());
}
if (runs('mbus')) printMbusDecode();
// Minutes of waiting on a simulated line (the master's timing is what it measures), little CPU.
if (runs('mbus-line')) printFigures(MBUS_LINE_TITLE, await benchMbusLine());

// The MQTT benchmarks share one mosquitto (the pipeline and the backlog run in fresh processes with
// subscribers of their own, the latency uses the one started here). Only warnings are logged: the
// link's "online" lines would break up the tables.
if (runs('pipeline') || runs('backlog') || runs('latency')) {
  configureLogging({ ...DEFAULT_LOGGING_OPTIONS, level: 'warn' });
  const broker = await startBenchBroker();
  const subscriber = await SubscriberProcess.start(broker.url);
  try {
    // The backlog drain is compared with the pipeline's raw rate, so it needs the pipeline run.
    if (runs('pipeline') || runs('backlog')) {
      const pipeline = await benchMqttPipeline(broker);
      printFigures(
        'MQTT pipeline (SQLite outbox → drainer → MqttLink → mosquitto → subscriber)',
        pipeline.figures,
      );
      if (runs('backlog')) {
        printFigures('Backlog drain after a broker outage', await benchBacklog(broker, pipeline.rawRate));
      }
    }
    if (runs('latency')) printFigures('Latency at 1,000 readings/s', await benchLatency(broker, subscriber));
  } finally {
    await subscriber.close();
    await broker.dispose();
  }
}
if (runs('demo')) {
  const demo = await benchDemo();
  if (typeof demo === 'string') console.log(`\n## The demo, from spawn to idle\n\n${demo}`);
  else printFigures('The demo, from spawn to idle', demo);
}
if (runs('gateway-idle')) printFigures(GATEWAY_IDLE_TITLE, await benchGatewayIdle());
console.log(`\nall benchmarks: ${((performance.now() - began) / 1000).toFixed(0)} s`);
