import { benchActorTree } from './actorTree.js';
import { machineDescription, printFigures } from './report.js';

// `npm run bench`: every benchmark of the project, one after the other, each printing its figures with
// the baseline it names. Benchmarks are measurements, not tests: they never fail the build.

console.log(`# fieldbridge benchmarks\n\nmachine: ${machineDescription()}`);
printFigures('Actor tree (simulated transports, 100 devices per bus)', await benchActorTree());
