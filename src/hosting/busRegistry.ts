import type { BusRuntime } from '../drivers/contract.js';

// The live bus runtimes, by bus id. A bus supervisor opens its bus when it starts and closes it when it
// fails, so a supervisor restart really starts from a fresh transport; actors look runtimes up here at
// the moment they need one instead of holding them in (persisted, inspected) machine context.

export type BusRuntimeFactory = () => BusRuntime;

export class BusRegistry {
  private readonly factories = new Map<string, BusRuntimeFactory>();
  private readonly open = new Map<string, BusRuntime>();

  define(busId: string, create: BusRuntimeFactory): void {
    this.factories.set(busId, create);
  }

  /** Creates the bus's runtime, closing a previous one first. */
  async openBus(busId: string): Promise<BusRuntime> {
    await this.closeBus(busId);
    const create = this.factories.get(busId);
    if (!create) throw new Error(`no driver is defined for bus "${busId}"`);
    const runtime = create();
    this.open.set(busId, runtime);
    return runtime;
  }

  async closeBus(busId: string): Promise<void> {
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

  async closeAll(): Promise<void> {
    await Promise.all([...this.open.keys()].map((busId) => this.closeBus(busId)));
  }
}
