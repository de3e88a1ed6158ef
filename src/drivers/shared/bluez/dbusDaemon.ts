import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

// Whether this machine can run the fake BlueZ (its private dbus-daemon): asked by the demo at start, so
// it lives apart from the simulator, which a gateway loads only when it runs a simulated BLE bus.

/** The dbus-daemon executable on PATH, or undefined (tests skip with a message then). */
export function findDbusDaemon(path = process.env.PATH ?? ''): string | undefined {
  for (const directory of path.split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, 'dbus-daemon');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; the next PATH entry
    }
  }
  return undefined;
}
