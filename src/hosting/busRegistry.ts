import type { BusRuntime, OpenContext } from '../drivers/contract.js';
import { systemClock } from '../machines/clock.js';
import { GatewayOpenContext } from './openContext.js';

// The live bus runtimes, by bus id. A bus supervisor opens its bus when it starts and closes it when it
// fails, so a supervisor restart really starts from a fresh transport; actors look runtimes up here at
// the moment they need one instead of holding them in (persisted, inspected) machine context.

/** Opens a bus; a driver's opener may first import its transport's code, hence the promise. */
export type BusRuntimeFactory = (context: OpenContext) => BusRuntime | Promise<BusRuntime>;

export class BusRegistry {
  private readonly factories = new Map<string, BusRuntimeFactory>();
  private readonly open = new Map<string, BusRuntime>();
  /** Bumped by every open and close of a bus, so an open that a close overtook is undone. */
  private readonly generations = new Map<string, number>();

  constructor(readonly context: GatewayOpenContext = new GatewayOpenContext(systemClock)) {}

  define(busId: string, create: BusRuntimeFactory): void {
    this.factories.set(busId, create);
  }

  /** Creates the bus's runtime, closing a previous one first. */
  async openBus(busId: string): Promise<BusRuntime> {
    const generation = this.#bump(busId);
    await this.#closeRuntime(busId);
    const create = this.factories.get(busId);
    if (!create) throw new Error(`no driver is defined for bus "${busId}"`);
    const runtime = await create(this.context);
    if (this.generations.get(busId) !== generation) {
      // Closed (or opened again) while the transport's code was loading: this runtime is nobody's.
      await runtime.close();
      throw new Error(`bus "${busId}" was closed while it was opening`);
    }
    this.open.set(busId, runtime);
    return runtime;
  }

  async closeBus(busId: string): Promise<void> {
    this.#bump(busId);
    await this.#closeRuntime(busId);
  }

  async #closeRuntime(busId: string): Promise<void> {
    const runtime = this.open.get(busId);
    this.open.delete(busId);
    await runtime?.close();
  }

  /** The bus's runtime if it is open now. */
  find(busId: string): BusRuntime | undefined {
    return this.open.get(busId);
  }

  get(busId: string): BusRuntime {
    const runtime = this.open.get(busId);
    if (!runtime) throw new Error(`bus "${busId}" is not open`);
    return runtime;
  }

  /** Closes every bus, then what the openers kept for this gateway (the shutdown). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((busId) => this.closeBus(busId)));
    await this.context.close();
  }

  #bump(busId: string): number {
    const next = (this.generations.get(busId) ?? 0) + 1;
    this.generations.set(busId, next);
    return next;
  }
}
