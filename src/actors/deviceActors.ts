import { fromCallback, fromPromise } from 'xstate';
import {
  type ConnectionEvent,
  connectionMachine,
  type LinkInput,
  type OperationInput,
} from '../machines/connection.js';
import type { BusRuntimeLookup, JsonValue, LinkEvent } from './driver.js';

// Binds the pure connection machine to real I/O: each invoked actor looks its bus runtime up at the
// moment it starts (a restarted bus gets a new runtime) and passes the state's AbortSignal down.

function toMachineEvent(event: LinkEvent): ConnectionEvent {
  switch (event.type) {
    case 'lost':
      return { type: 'LINK_LOST', error: event.error };
    case 'data':
      return { type: 'LINK_DATA', operation: event.operation, result: event.result };
    case 'failure':
      return { type: 'LINK_FAILURE', error: event.error };
  }
}

export function bindConnectionMachine(lookup: BusRuntimeLookup) {
  return connectionMachine.provide({
    actors: {
      connectLink: fromPromise<void, LinkInput>(({ input, signal }) =>
        lookup(input.busId).connect(input.deviceId, signal),
      ),
      // Lives exactly as long as the `connected` state: stopping it releases the device's link.
      linkSession: fromCallback<ConnectionEvent, LinkInput>(({ input, sendBack }) => {
        const runtime = lookup(input.busId);
        const stopWatching = runtime.watchDevice(input.deviceId, (event) => sendBack(toMachineEvent(event)));
        return () => {
          stopWatching();
          void runtime.disconnect(input.deviceId);
        };
      }),
      runOperation: fromPromise<JsonValue, OperationInput>(({ input, signal }) =>
        lookup(input.busId).execute(input.deviceId, input.operation, input.args, signal),
      ),
    },
  });
}

export type BoundConnectionMachine = ReturnType<typeof bindConnectionMachine>;
