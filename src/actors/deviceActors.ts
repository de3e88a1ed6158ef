import { fromPromise } from 'xstate';
import { connectionMachine } from '../machines/connection.js';
import type { LinkInput, OperationInput } from '../machines/connectionModel.js';
import type { BusRuntimeLookup, JsonValue } from './driver.js';

// Binds the pure connection machine to real I/O: each invoked actor looks its bus runtime up at the
// moment it starts (a restarted bus gets a new runtime) and passes the state's AbortSignal down.
// Link events and the release of a link go through the bus supervisor's watcher (supervisorActors.ts).

export function bindConnectionMachine(lookup: BusRuntimeLookup) {
  return connectionMachine.provide({
    actors: {
      connectLink: fromPromise<void, LinkInput>(({ input, signal }) =>
        lookup(input.busId).connect(input.deviceId, signal),
      ),
      runOperation: fromPromise<JsonValue, OperationInput>(({ input, signal }) =>
        lookup(input.busId).execute(input.deviceId, input.operation, input.args, signal),
      ),
    },
  });
}

export type BoundConnectionMachine = ReturnType<typeof bindConnectionMachine>;
