import { measureBacklog } from './backlog.js';
import { measureInFreshProcess } from './freshProcess.js';

// The backlog benchmark in a fresh process, forked by backlog.ts with the broker URL.

await measureInFreshProcess('bench/backlog.ts', (url, _args, subscriber) => measureBacklog(url, subscriber));
