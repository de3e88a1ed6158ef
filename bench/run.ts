import { benchActorTree } from './actorTree.js';
import { benchBacklog } from './backlog.js';
import { benchLatency } from './latency.js';
import { printMbusDecode } from './mbusDecode.js';
import { benchMqttPipeline } from './mqttPipeline.js';
import { startBenchBroker } from './mqttRig.js';
import { machineDescription, printFigures } from './report.js';
import { RUNTIME } from './scripts.js';
import { SubscriberProcess } from './subscriber.js';
import { configureLogging, DEFAULT_LOGGING_OPTIONS } from '../src/logging/index.js';

// `npm run bench`: every benchmark of the project, one after the other, each printing its figures with
// the baseline it names. Benchmarks are measurements, not tests: they never fail the build.

const began = performance.now();
console.log(`# fieldbridge benchmarks\n\nmachine: ${machineDescription()}; ${RUNTIME}`);
printFigures('Actor tree (simulated transports, 100 devices per bus)', await benchActorTree());
printMbusDecode();

// The MQTT benchmarks share one mosquitto and one subscriber process. Only warnings are logged: the
// link's "online" lines would break up the tables.
configureLogging({ ...DEFAULT_LOGGING_OPTIONS, level: 'warn' });
const broker = await startBenchBroker();
const subscriber = await SubscriberProcess.start(broker.url);
try {
  const pipeline = await benchMqttPipeline(broker, subscriber);
  printFigures(
    'MQTT pipeline (SQLite outbox → drainer → MqttLink → mosquitto → subscriber)',
    pipeline.figures,
  );
  printFigures('Backlog drain after a broker outage', await benchBacklog(broker, pipeline.rawRate));
  printFigures('Latency at 1,000 readings/s', await benchLatency(broker, subscriber));
} finally {
  await subscriber.close();
  await broker.dispose();
}
console.log(`\nall benchmarks: ${((performance.now() - began) / 1000).toFixed(0)} s`);
