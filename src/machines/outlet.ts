import type { AnyActorRef, AnyEventObject } from 'xstate';
import type { GatewayNotice } from './notices.js';

// Notices leave the actor tree through one actor registered in the system as `outlet` (the gateway
// invokes it at the root and binds it to its sink). Machines stay free of I/O and of callbacks in
// their context; a tree running without an outlet (unit tests of one supervisor) simply delivers nothing.

export const OUTLET_SYSTEM_ID = 'outlet';

interface Sender {
  sendTo(to: AnyActorRef, event: AnyEventObject): void;
}

export function deliver(
  enqueue: Sender,
  system: { get(id: string): AnyActorRef | undefined },
  notice: GatewayNotice,
): void {
  const outlet = system.get(OUTLET_SYSTEM_ID);
  if (outlet) enqueue.sendTo(outlet, notice);
}
