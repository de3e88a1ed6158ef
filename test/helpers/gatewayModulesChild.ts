import { parseConfig } from '../../src/config/index.js';
import { runGateway } from '../../src/gateway.js';

// Child of test/lazy-transports.test.ts: runs the gateway on the config given as the first argument
// (YAML) until SIGTERM, with the module loader logging every module it resolves (see the test).

const config = parseConfig(process.argv[2] ?? '', {});
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.exitCode = await runGateway(config, { configSource: '(test)', signal: stop.signal });
