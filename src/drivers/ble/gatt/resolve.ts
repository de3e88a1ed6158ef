import type { BluezEvent } from '../dbus/client.js';
import { waitUntil } from '../../shared/wait.js';
import { GattFailure } from './failures.js';
import type { GattLink } from './link.js';
import type { GattTree } from './tree.js';

// After an LE Connect is answered the link is up but BlueZ is still discovering services (or checking
// its cache); the GATT objects are current only once Device1.ServicesResolved is true. This waits for
// that, re-checked at every BlueZ signal (the tree and the link have seen the signal first), and gives up
// when the link drops meanwhile or the signal fires.

export async function waitForResolved(
  tree: GattTree,
  link: GattLink,
  subscribe: (listener: (event: BluezEvent) => void) => () => void,
  signal: AbortSignal,
): Promise<void> {
  const waiters = new Set<() => void>();
  const unsubscribe = subscribe(() => {
    for (const wake of [...waiters]) wake();
  });
  try {
    await waitUntil(
      () => link.closed || tree.device(link.devicePath)?.servicesResolved === true,
      waiters,
      signal,
    );
  } finally {
    unsubscribe();
  }
  if (link.closed)
    throw link.endedBy ?? new GattFailure('disconnected', `${link.devicePath} dropped the link`);
}
