import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// Most test files wait on child processes (mosquitto, dbus-daemon, gateway processes, socat) rather than
// compute, so two of them share two cores well; vitest's default would run one file at a time there.
const workers = Math.max(2, availableParallelism() - 1);

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    maxWorkers: workers,
    reporters: ['default', './test/reporters/plainSummary.ts'],
  },
});
