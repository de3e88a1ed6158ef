// Child process of persistence-crash.test.ts: enqueues readings in committed transactions and reports
// each commit on stdout, then waits to be SIGKILLed (it never closes the database).
//   persistenceCrashChild.ts <db path> <batches|forever> <batch size>

import { openPersistence } from '../../src/persistence/index.js';

const [path, batchesArgument, batchSizeArgument] = process.argv.slice(2);
if (path === undefined || batchesArgument === undefined || batchSizeArgument === undefined) {
  throw new Error('usage: persistenceCrashChild.ts <db path> <batches|forever> <batch size>');
}
const batches = batchesArgument === 'forever' ? Infinity : Number(batchesArgument);
const batchSize = Number(batchSizeArgument);
const persistence = openPersistence({ path });

let committed = 0;
function enqueueBatch(): void {
  persistence.transaction(() => {
    for (let i = 0; i < batchSize; i += 1) {
      persistence.enqueueReading({ deviceId: 'meter1', topic: 'fieldbridge/meter1/reading' }, (seq) =>
        JSON.stringify({ seq, value: seq * 10 }),
      );
    }
  });
  committed += batchSize;
  // Pipes are written synchronously on Linux: once this line is read, the commit has happened.
  process.stdout.write(`committed ${committed}\n`);
}

function loop(batch: number): void {
  if (batch >= batches) {
    process.stdout.write('done\n');
    setInterval(() => undefined, 60_000); // wait for SIGKILL
    return;
  }
  enqueueBatch();
  setImmediate(() => loop(batch + 1));
}

loop(0);
