import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

// The `reenumerate` recovery step: find the level converter again after the kernel gave it another
// name (/dev/ttyUSB0 became /dev/ttyUSB1 after a replug). A /dev/serial/by-id link (made by udev from
// the USB vendor, product and serial number) follows the converter; when the configured path is a plain
// /dev/ttyUSB* name, the by-id link that pointed at it when it last opened says where it went.

const BY_ID = '/dev/serial/by-id';

/** by-id link per configured path, learned when the port last opened. */
const knownLinks = new Map<string, string>();

function byIdLinks(): string[] {
  try {
    return readdirSync(BY_ID).map((name) => join(BY_ID, name));
  } catch {
    return [];
  }
}

function resolved(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Remembers which /dev/serial/by-id link names the converter at `path` (if udev made one). */
export function rememberConverter(configuredPath: string, openedPath: string): void {
  if (configuredPath.startsWith(`${BY_ID}/`)) return;
  const device = resolved(openedPath);
  const link = device && byIdLinks().find((candidate) => resolved(candidate) === device);
  if (link) knownLinks.set(configuredPath, link);
}

/** Where the converter is now; rejects with what was looked at when it is nowhere. */
export async function findConverter(
  configuredPath: string,
  currentPath: string,
  signal: AbortSignal,
): Promise<string> {
  signal.throwIfAborted();
  if (existsSync(configuredPath)) return configuredPath;
  const link = knownLinks.get(configuredPath);
  const target = link && resolved(link);
  if (link && target) return link;
  if (currentPath !== configuredPath && existsSync(currentPath)) return currentPath;
  const looked = link ? `${configuredPath} and ${link}` : configuredPath;
  throw new Error(`the M-Bus converter is not plugged in (${looked} not found)`);
}
