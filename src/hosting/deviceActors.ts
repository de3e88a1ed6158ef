import { performance } from 'node:perf_hooks';
import { fromPromise } from 'xstate';
import { connectionMachine } from '../machines/connection.js';
import type { LinkInput, OperationInput, OperationOutput } from '../machines/connectionModel.js';
import type { BusRuntimeLookup } from '../drivers/contract.js';

// Binds the pure connection machine to real I/O: each invoked actor looks its bus runtime up at the
// moment it starts (a restarted bus gets a new runtime) and passes the state's AbortSignal down.
// Link events and the release of a link go through the bus supervisor's watcher (supervisorActors.ts).
// An operation's duration is measured here, around the I/O, with the monotonic clock: the machine runs
// on the gateway clock (simulated in tests), which says nothing about how long a transport took.

export function bindConnectionMachine(lookup: BusRuntimeLookup) {
  return connectionMachine.provide({
    actors: {
      connectLink: fromPromise<void, LinkInput>(({ input, signal }) =>
        lookup(input.busId).connect(input.deviceId, signal),
      ),
      runOperation: fromPromise<OperationOutput, OperationInput>(async ({ input, signal }) => {
        const startedAt = performance.now();
        const result = await lookup(input.busId).execute(input.deviceId, input.operation, input.args, signal);
        return { result, durationMs: performance.now() - startedAt };
      }),
    },
  });
}

export type BoundConnectionMachine = ReturnType<typeof bindConnectionMachine>;
