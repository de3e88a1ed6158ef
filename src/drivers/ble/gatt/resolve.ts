import type { BluezEvent } from '../dbus/client.js';
import { GattFailure } from './failures.js';
import type { GattLink } from './link.js';
import type { GattTree } from './tree.js';

// After an LE Connect is answered the link is up but BlueZ is still discovering services (or checking
// its cache); the GATT objects are current only once Device1.ServicesResolved is true. This waits for
// that, re-checked at every BlueZ signal (the tree has seen the signal first), and gives up when the link
// drops meanwhile or the signal fires.

export function waitForResolved(
  tree: GattTree,
  link: GattLink,
  subscribe: (listener: (event: BluezEvent) => void) => () => void,
  signal: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let unsubscribe = () => undefined as unknown;
    const check = () => {
      if (link.closed) {
        finish();
        reject(link.endedBy ?? new GattFailure('disconnected', `${link.devicePath} dropped the link`));
      } else if (tree.device(link.devicePath)?.servicesResolved === true) {
        finish();
        resolve();
      }
    };
    const onAbort = () => {
      finish();
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const finish = () => {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    };
    if (signal.aborted) return onAbort();
    unsubscribe = subscribe(() => check());
    signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}
