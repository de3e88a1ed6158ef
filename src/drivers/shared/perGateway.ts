import type { OpenContext } from '../contract.js';

// What a driver keeps per gateway rather than per bus or per process: a simulated adapter, segment or
// gateway that outlives restarts of its bus (a lamp keeps its level, a killed meter stays dead), or one
// host per radio. Keyed by the gateway's OpenContext, so two gateways in one process (tests) never share
// one, and dropped with it.

/**
 * A map per gateway, by key (a bus id, an adapter), made on first use; `close` gets its values when the
 * gateway stops, after every bus is closed.
 */
export function perGateway<T>(
  close?: (values: T[]) => Promise<void>,
): (context: OpenContext) => Map<string, T> {
  const maps = new WeakMap<OpenContext, Map<string, T>>();
  return (context) => {
    const existing = maps.get(context);
    if (existing !== undefined) return existing;
    const created = new Map<string, T>();
    maps.set(context, created);
    if (close !== undefined) {
      context.onClose(async () => {
        const values = [...created.values()];
        created.clear();
        await close(values);
      });
    }
    return created;
  };
}
