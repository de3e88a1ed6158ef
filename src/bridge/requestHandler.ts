import type { DriverRequestContext, OpenContext, ScanRequest } from '../drivers/contract.js';
import { DRIVER_MODULES, recoveryStepsFor } from '../drivers/registry.js';
import type { DeviceConfig } from '../config/index.js';
import { closestMatch } from '../config/fields/suggest.js';
import { configureLogging, currentLoggingOptions } from '../logging/index.js';
import type { RootEvent } from '../machines/rootSupervisor.js';
import type { OutboxStats } from '../persistence/index.js';
import {
  type BridgeRequest,
  type BridgeResponse,
  errorResponse,
  okResponse,
  parseRequest,
} from './requests.js';

// Answers `<base>/bridge/request/<name>`: every request is checked (requests.ts), then acted on.
// Requests that start work in the actors (restart, recover, power_cycle) answer "ok" once the work
// was accepted, after everything that can be checked here was (the device, the driver's steps); what
// the work did (started, succeeded, verified, did_not_help, rate_limited, …) is published on
// bridge/event.

export interface RequestContext {
  devices: ReadonlyMap<string, DeviceConfig>;
  /** Reads the config file again and applies it (src/gateway/reload.ts). */
  reloadConfig: () => Promise<{ ok: true; data: unknown } | { ok: false; error: string }>;
  send: (event: RootEvent) => void;
  /** Scans a bus; answers when the scan is over, with what it found. */
  scan: (request: ScanRequest) => Promise<{ ok: true; data: unknown } | { ok: false; error: string }>;
  queueStats: () => OutboxStats;
  health: () => Record<string, unknown>;
  /** Forgets a device found by a scan (src/gateway/deviceRemoval.ts). */
  removeDevice?: (id: string) => { ok: true; data: unknown } | { ok: false; error: string };
  /** What the gateway's buses were opened with: a driver's request or fault reaches its per-gateway state. */
  openContext: OpenContext;
}

export class RequestHandler {
  readonly #context: RequestContext;

  constructor(context: RequestContext) {
    this.#context = context;
  }

  async handle(name: string, payload: Buffer | string): Promise<BridgeResponse> {
    const parsed = parseRequest(name, payload);
    if (!parsed.ok) return errorResponse(parsed.error, parsed.transaction);
    const outcome = await this.#run(parsed.value);
    return 'error' in outcome
      ? errorResponse(outcome.error, parsed.transaction)
      : okResponse(outcome.data, parsed.transaction);
  }

  async #run(request: BridgeRequest): Promise<{ data: unknown } | { error: string }> {
    const { devices, send } = this.#context;
    switch (request.name) {
      case 'health_check':
        return { data: this.#context.health() };
      case 'queue/stats':
        return { data: this.#context.queueStats() };
      case 'device/restart': {
        if (!devices.has(request.id)) return { error: `unknown device "${request.id}"` };
        send({ type: 'RESTART_DEVICE', deviceId: request.id, reason: 'requested over MQTT' });
        return { data: { id: request.id } };
      }
      case 'device/recover': {
        const device = devices.get(request.id);
        if (!device) return { error: `unknown device "${request.id}"` };
        const unknownStep = request.step === undefined ? undefined : missingStep(device, request.step);
        if (unknownStep) return { error: unknownStep };
        send({
          type: 'RECOVER',
          deviceId: request.id,
          step: request.step ?? null,
          reason: 'requested over MQTT',
        });
        return { data: { id: request.id, step: request.step ?? 'next ladder step' } };
      }
      case 'device/remove': {
        const outcome = this.#context.removeDevice?.(request.id) ?? {
          ok: false,
          error: 'this gateway cannot remove devices',
        };
        return outcome.ok ? { data: outcome.data } : { error: outcome.error };
      }
      case 'log_level': {
        const options = currentLoggingOptions();
        configureLogging(
          request.namespace === undefined
            ? { ...options, level: request.level }
            : { ...options, namespaces: { ...options.namespaces, [request.namespace]: request.level } },
        );
        return { data: { level: request.level, namespace: request.namespace ?? null } };
      }
      case 'scan': {
        // The driver's scan checks its own fields again, strictly: it gets the request without `name`.
        const { name: _name, ...scan } = request;
        const outcome = await this.#context.scan(scan);
        return outcome.ok ? { data: outcome.data } : { error: outcome.error };
      }
      case 'config/reload': {
        const outcome = await this.#context.reloadConfig();
        return outcome.ok ? { data: outcome.data } : { error: outcome.error };
      }
      case 'simulation/fault': {
        // The schema admits only the drivers that have faults.
        const { driver, ...fields } = request;
        const faults = DRIVER_MODULES.find((module) => module.name === driver)?.simulationFaults;
        if (!faults) return { error: `driver ${driver} has no simulation faults` };
        return faults.inject(fields, this.#driverContext());
      }
      case 'driver':
        return await request.driverRequest.run(request.fields, this.#driverContext());
    }
  }

  #driverContext(): DriverRequestContext {
    const { devices, send, openContext, scan } = this.#context;
    return {
      devices,
      recover: (deviceId, step, reason) => send({ type: 'RECOVER', deviceId, step, reason }),
      openContext,
      scan,
    };
  }
}

/** Why `step` cannot run on `device` (its driver has no such rung), or undefined when it can. */
function missingStep(device: DeviceConfig, step: string): string | undefined {
  const steps = recoveryStepsFor(device).map((spec) => spec.name);
  if (steps.includes(step)) return undefined;
  const close = closestMatch(step, steps);
  const hint = close ? `did you mean "${close}"? ` : '';
  return `driver ${device.driver} of device "${device.id}" has no recovery step "${step}" (${hint}its steps: ${steps.join(', ')})`;
}
