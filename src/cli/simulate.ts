import type { DriverSimulator } from '../drivers/contract.js';
import { DRIVER_MODULES } from '../drivers/registry.js';
import { type CliCommand, UsageError } from './io.js';
import type { SimulateRuntime } from '../commandLine/io.js';

// `fieldbridge simulate <bus>`: the other end of a driver's bus (M-Bus meters on a pty pair, BlueZ with
// BLE sensors on a private D-Bus), for trying the gateway without hardware and for end-to-end tests.
// Each driver offers its simulator (DriverModule.simulate); its code is loaded only when it runs, so
// no other command loads a simulator.

export type { SimulateRuntime } from '../commandLine/io.js';

const processRuntime: SimulateRuntime = {
  // A getter: touching process.stdin opens it, which the other commands must not do.
  get stdin() {
    return process.stdin;
  },
  onSignal(signal, handler) {
    process.on(signal, handler);
    return () => process.off(signal, handler);
  },
};

const SIMULATORS: readonly DriverSimulator[] = DRIVER_MODULES.flatMap((driver) =>
  driver.simulate ? [driver.simulate] : [],
);

export function createSimulateCommand(runtime: SimulateRuntime = processRuntime): CliCommand {
  return {
    name: 'simulate',
    summary: `Simulate ${SIMULATORS.map((simulator) => simulator.summary).join(', or ')}`,
    usage: SIMULATORS.map((simulator) => simulator.usage).join('\n\n'),

    async run(args, { io }) {
      const [bus, ...rest] = args;
      if (bus === undefined || bus.startsWith('-')) {
        throw new UsageError(
          `say which bus to simulate: ${SIMULATORS.map((simulator) => simulator.example).join(', or ')}`,
        );
      }
      const simulator = SIMULATORS.find((candidate) => candidate.bus === bus);
      if (!simulator) {
        const supported = SIMULATORS.map(
          (candidate, i) => `"${candidate.bus}"${i === 0 ? ' is supported' : ''} ${candidate.medium}`,
        );
        throw new UsageError(`cannot simulate "${bus}": only ${supported.join(', and ')}`);
      }
      return simulator.run(rest, io, runtime);
    },
  };
}

export const simulateCommand = createSimulateCommand();
