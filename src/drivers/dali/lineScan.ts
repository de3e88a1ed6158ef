import { z } from 'zod';
import { DaliReplugRescan } from './adapterDevices.js';
import type { DaliBusRuntime } from './runtime.js';
import type { FoundLight } from './scan.js';
import type { FieldbridgeConfig } from '../../config/index.js';
import { type LineScan, type ScanContext, scanCapability } from '../contract.js';
import { freeId } from '../shared/freeId.js';

// DALI lines: the `dali` section's adapters and every adapter a light is configured on; a scan asks
// every short address whether a lamp is there and adds the lamps and the groups they are in.

declare module '../contract.js' {
  interface BusCapabilities {
    /** A running DALI bus lends its adapter to a scan, between the lights' commands and polls. */
    daliLineScan: Pick<DaliBusRuntime, 'scan'>;
  }
}

const daliScanRequest = z.strictObject({
  driver: z.literal('dali'),
  /** Which adapter (needed when more than one is configured). */
  adapter_serial: z.string().min(1).optional(),
});

type DaliScanRequest = z.output<typeof daliScanRequest>;

interface Line {
  adapterSerial: string | undefined;
  transport: 'hid' | 'simulated';
  selfTestIntervalMs: number;
}

function lineName(line: Line): string {
  if (line.transport === 'simulated') return 'the simulated DALI adapter';
  return line.adapterSerial === undefined ? 'the DALI adapter' : `DALI adapter ${line.adapterSerial}`;
}

function daliLines(config: FieldbridgeConfig): Line[] {
  const lines = new Map<string, Line>();
  const add = (line: Line) => lines.set(`${line.transport}:${line.adapterSerial ?? ''}`, line);
  for (const line of config.dali) {
    add({
      adapterSerial: line.adapter_serial,
      transport: line.transport,
      selfTestIntervalMs: line.self_test_interval_ms,
    });
  }
  for (const device of config.devices) {
    if (device.driver !== 'dali' || lines.has(`${device.transport}:${device.adapter_serial ?? ''}`)) continue;
    add({
      adapterSerial: device.adapter_serial,
      transport: device.transport,
      selfTestIntervalMs: device.poll_interval_ms,
    });
  }
  return [...lines.values()];
}

/** Device ids like `dali_lamp_5` and `dali_group_1`, with the adapter's serial when it is named. */
function idBase(line: Line, light: FoundLight): string {
  const adapter = line.adapterSerial ? `${line.adapterSerial.replace(/[^A-Za-z0-9_-]/g, '_')}_` : '';
  return 'short' in light.target
    ? `dali_${adapter}lamp_${light.target.short}`
    : `dali_${adapter}group_${'group' in light.target ? light.target.group : 'all'}`;
}

export function daliLineScan(context: ScanContext, request: DaliScanRequest): LineScan | { error: string } {
  const lines = daliLines(context.config);
  const line =
    request.adapter_serial === undefined
      ? lines.length === 1
        ? lines[0]
        : undefined
      : lines.find((candidate) => candidate.adapterSerial === request.adapter_serial);
  if (!line) {
    const known = lines.map(lineName).join(', ') || 'none';
    return {
      error:
        request.adapter_serial === undefined
          ? `say which DALI adapter to scan ("adapter_serial"): known are ${known}`
          : `adapter ${request.adapter_serial} is not a DALI line of this gateway (known: ${known}; add it under dali: in the config)`,
    };
  }
  return {
    line: lineName(line),
    describe: 'short addresses 0-63',
    async run(signal, taken) {
      const sameLine = (device: FieldbridgeConfig['devices'][number]) =>
        device.driver === 'dali' &&
        device.transport === line.transport &&
        device.adapter_serial === line.adapterSerial;
      const busId =
        context.config.devices.find(sameLine)?.bus ??
        (line.transport === 'simulated' ? 'dali:simulated' : `dali:${line.adapterSerial ?? 'default'}`);
      const running = context.registry.find(busId);
      const progress = (light: FoundLight) =>
        context.log(
          `found ${'short' in light.target ? `lamp ${light.target.short}` : 'a group'} on ${lineName(line)}`,
        );
      const lent = running?.capabilities?.daliLineScan;
      let lights: FoundLight[];
      if (lent) {
        lights = await lent.scan(signal, progress);
      } else {
        // Loaded on first use: a gateway without DALI never loads the DALI runtime, HID or its simulator.
        const standalone =
          line.transport === 'simulated'
            ? (await import('./simulatedBus.js')).openSimulatedDaliBus(busId, [], context.openContext)
            : new (await import('./runtime.js')).DaliBusRuntime(`scan:${busId}`, {
                enumerator: (await import('./nodeHid.js')).nodeHidEnumerator,
                adapterSerial: line.adapterSerial,
                lights: [],
              });
        try {
          lights = await standalone.scan(signal, progress);
        } finally {
          await standalone.close();
        }
      }
      const devices = lights.map((light) => {
        const known = context.config.devices.find(
          (device) =>
            sameLine(device) &&
            device.driver === 'dali' &&
            ('short' in light.target
              ? device.address === light.target.short
              : 'group' in light.target && device.group === light.target.group),
        );
        const id = known?.id ?? freeId(idBase(line, light), taken);
        const where =
          'short' in light.target
            ? { address: light.target.short }
            : 'group' in light.target
              ? { group: light.target.group }
              : {};
        const name =
          'short' in light.target
            ? `DALI lamp ${light.target.short}`
            : `DALI group ${'group' in light.target ? light.target.group : ''}`;
        const config = {
          id,
          name,
          driver: 'dali',
          transport: line.transport,
          ...(line.adapterSerial ? { adapter_serial: line.adapterSerial } : {}),
          ...where,
          poll_interval_ms: line.selfTestIntervalMs,
        };
        return { id, config, foundAt: Date.now() };
      });
      const found = lights.map((light, index) => ({
        id: devices[index]?.id,
        ...light.target,
        ...(light.info
          ? { min_level: light.info.minLevel, max_level: light.info.maxLevel, groups: light.info.groups }
          : {}),
      }));
      return { found, devices };
    },
  };
}

/** Scans the `dali:` lines that ask for it at start (`scan_on_start`): `auto` when no light on it is known. */
function daliLinesToScanAtStart(config: FieldbridgeConfig): DaliScanRequest[] {
  return config.dali
    .filter((line) => {
      const known = config.devices.some(
        (device) =>
          device.driver === 'dali' &&
          device.role !== 'adapter' &&
          device.transport === line.transport &&
          device.adapter_serial === line.adapter_serial,
      );
      return line.scan_on_start === 'always' || (line.scan_on_start === 'auto' && !known);
    })
    .map((line) => ({ driver: 'dali', adapter_serial: line.adapter_serial }));
}

export const daliScan = scanCapability(daliScanRequest, {
  linesToScanAtStart: daliLinesToScanAtStart,
  prepare: daliLineScan,
  // Lamps may have been added or readdressed while the adapter was unplugged: scan its line again.
  rescanOn: (config, rescan) =>
    new DaliReplugRescan(config, (line) => rescan({ driver: 'dali', adapter_serial: line.adapter_serial }))
      .handle,
});
