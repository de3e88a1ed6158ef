import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

// Hot reload from the file itself: the config file's directory is watched (editors and config
// management write a new file and rename it over the old one, which a watch on the file would miss),
// changes are debounced, and a reload runs only when the content really changed, so saving without an
// edit, or a touch, restarts nothing.

export interface ConfigWatchOptions {
  path: string;
  reload: () => Promise<{ ok: boolean; error?: string }>;
  log: (level: 'info' | 'warn', message: string) => void;
  debounceMs?: number;
}

function digest(path: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return undefined; // between an editor's delete and its rename; the next event sees the new file
  }
}

export class ConfigWatch {
  #watcher: FSWatcher | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastDigest: string | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(private readonly options: ConfigWatchOptions) {}

  start(): void {
    this.#lastDigest = digest(this.options.path);
    const name = basename(this.options.path);
    this.#watcher = watch(dirname(this.options.path), (_event, file) => {
      if (file !== null && file !== name) return;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        this.#running = this.#running.then(() => this.#check());
      }, this.options.debounceMs ?? 500);
    });
    this.#watcher.on('error', (error) =>
      this.options.log('warn', `watching ${this.options.path} failed: ${error.message}`),
    );
  }

  async #check(): Promise<void> {
    const now = digest(this.options.path);
    if (now === undefined || now === this.#lastDigest) return;
    this.#lastDigest = now;
    this.options.log('info', `${this.options.path} changed: reloading`);
    const outcome = await this.options.reload();
    if (!outcome.ok)
      this.options.log('warn', `the changed config was not applied: ${outcome.error ?? 'unknown reason'}`);
  }

  /** Waits for a reload that is running (tests). */
  settled(): Promise<void> {
    return this.#running;
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
