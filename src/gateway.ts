import { resolve } from 'node:path';
import { createActor } from 'xstate';
import type { OpenContext } from './drivers/contract.js';
import { DRIVER_MODULES, forgetKeyOf, unavailableTransport } from './drivers/registry.js';
import { GatewayOpenContext } from './hosting/openContext.js';
import { snapshotPortOf } from './hosting/snapshotPort.js';
import { bindSupervisorTree } from './hosting/supervisorActors.js';
import { Bridge } from './bridge/bridge.js';
import { type FieldbridgeConfig, loggingOptions } from './config/index.js';
import { bridgeLinkOf } from './gateway/bridgeLink.js';
import { NoticeBus } from './gateway/noticeBus.js';
import { NoticeLog } from './gateway/noticeLog.js';
import { Services } from './gateway/services.js';
import { removeFoundDevice } from './gateway/deviceRemoval.js';
import { withDiscovered } from './gateway/discovered.js';
import { applyServiceSettings } from './gateway/liveSettings.js';
import { ConfigReloader } from './gateway/reload.js';
import { Operations } from './gateway/operations.js';
import { BusScanner, rescanOnNotices, scanLinesAtStart } from './gateway/scans.js';
import { buildTree, defineTree, loadTransports } from './gateway/tree.js';
import { closeLogging, configureLogging, getLogger, type Logger } from './logging/index.js';
import type { InspectorRelay } from './ops/inspector.js';
import { every, systemClock } from './machines/clock.js';
import { busChanges, type RootEvent } from './machines/rootSupervisor.js';
import { type OpenedMqtt, openMqtt } from './mqtt/index.js';
import {
  DatabaseFileError,
  type DiscoveredDevice,
  openPersistence,
  type Persistence,
} from './persistence/index.js';
import { readPackageVersion } from './version.js';
import { errorText } from './errorText.js';

// The daemon: builds the supervision tree from the config, runs it until SIGTERM/SIGINT (or the
// caller's AbortSignal), then stops every actor, closes every bus and flushes the logs. Process-level
// failures that nothing can recover from (an exception that escaped every actor) are logged and end
// the process with a non-zero code so the service manager restarts it.

export const EXIT_OK = 0;
export const EXIT_CONFIG = 2;
/** EX_SOFTWARE: an internal error escaped every actor; the service manager should restart us. */
export const EXIT_INTERNAL = 70;
const SHUTDOWN_DEADLINE_MS = 1_500;
/** At shutdown, how long the broker gets to take what is queued (the rest waits in the database). */
const FINAL_DRAIN_MS = 1_000;

export interface GatewayOptions {
  configSource: string;
  /** Stops the gateway like SIGTERM does (tests, embedding). */
  signal?: AbortSignal;
  /** Streams the actor system to the Stately inspector through a relay on 127.0.0.1:<port>. */
  inspectPort?: number;
  /**
   * At stop, empties every retained topic and discovery config this run announced (the demo on a broker
   * it did not start leaves no phantom devices in Home Assistant).
   */
  leaveNothingRetained?: boolean;
  /**
   * Called once, before any bus opens, with the OpenContext the gateway hands its bus openers: what a
   * driver keeps per gateway (a simulated bus's fake hardware) is reached through it (tests, embedding).
   */
  onOpenContext?: (context: OpenContext) => void;
}

const DAY_MS = 86_400_000;

/** Devices whose driver or transport this build cannot run, as `devices[i] (id): why` lines. */
function unrunnableDevices(config: FieldbridgeConfig): string[] {
  return config.devices.flatMap((device, index) => {
    const why = device.enabled ? unavailableTransport(device) : undefined;
    return why ? [`devices[${index}] (${device.id}): ${why}`] : [];
  });
}

/** The Stately inspector relay, when asked for; a busy port is logged and the gateway runs without it. */
async function startInspector(port: number | undefined, log: Logger): Promise<InspectorRelay | undefined> {
  if (port === undefined) return undefined;
  try {
    const { startInspectorRelay } = await import('./ops/inspector.js');
    const relay = await startInspectorRelay(port);
    log.info(`Stately inspector: open http://127.0.0.1:${port}/ (this host only)`);
    return relay;
  } catch (error) {
    log.warn(`the Stately inspector is not available: ${errorText(error)}`);
    return undefined;
  }
}

export async function runGateway(fileConfig: FieldbridgeConfig, options: GatewayOptions): Promise<number> {
  configureLogging(loggingOptions(fileConfig));
  const log = getLogger('gateway');
  const problems = unrunnableDevices(fileConfig);
  if (problems.length > 0) {
    for (const problem of problems) log.error(problem);
    await closeLogging();
    return EXIT_CONFIG;
  }

  const version = await readPackageVersion();
  let persistence: Persistence;
  try {
    persistence = openPersistence({
      // Absolute, so every message about the file names it unambiguously.
      path: resolve(fileConfig.persistence.path),
      synchronous: fileConfig.persistence.synchronous,
      retentionDays: fileConfig.persistence.retention_days,
      maxMessages: fileConfig.queue.max_messages,
      maxBytes: fileConfig.queue.max_bytes,
    });
  } catch (error) {
    if (!(error instanceof DatabaseFileError)) throw error;
    log.error(`${error.message}; nothing was started`);
    await closeLogging();
    return EXIT_CONFIG;
  }
  // Every part of the running gateway is a service: stopped in the reverse order it was started in.
  const lifecycle = new Services({ clock: systemClock, log, stopTimeoutMs: SHUTDOWN_DEADLINE_MS });
  await lifecycle.start({ name: 'database', stop: () => persistence.close() });
  // Before anything creates an actor system, so every one of them is visible to it.
  const inspector = await startInspector(options.inspectPort, log);
  await lifecycle.start({ name: 'Stately inspector relay', stop: () => inspector?.stop() });
  const inspectOption = inspector ? { inspect: inspector.inspect } : {};
  // What runs is the file's config plus the devices scans found earlier.
  let currentFile = fileConfig;
  const effective = () => {
    const { config, skipped } = withDiscovered(currentFile, persistence.discovered.list());
    for (const line of skipped) log.warn(`a device found by a scan is left out: ${line}`);
    return config;
  };
  let config = effective();
  let mqtt: OpenedMqtt;
  try {
    mqtt = await openMqtt(config.mqtt, {
      embeddedPort: config.mqtt.embedded_port,
      discoveryPrefix: config.homeassistant.discovery_prefix,
      ...inspectOption,
    });
  } catch (error) {
    log.error(errorText(error));
    await lifecycle.stopAll();
    await closeLogging();
    return EXIT_CONFIG;
  }
  await lifecycle.start({ name: 'MQTT link', stop: () => mqtt.close() });

  const notices = new NoticeBus();
  const noticeLog = new NoticeLog();
  notices.onAny('notice log', noticeLog.handle);
  // What bus runtimes report besides device events: sensors nobody configured (auto_add), and their
  // calls to the service behind the transport (/metrics). Both sinks are declared below and called only
  // once the buses run (after root.start()).
  const openContext = new GatewayOpenContext(
    systemClock,
    {
      heard: (device) => {
        for (const autoAdd of autoAdders) autoAdd.handle(device);
      },
      recordCall: (call) => operations.metrics.recordTransportCall(call),
      // Not applied now: the running bus already uses the new fields; the next start reads them.
      updateFound: (deviceId, fields) => {
        const stored = persistence.discovered.list().find((device) => device.id === deviceId);
        if (!stored) return false;
        persistence.discovered.save({ ...stored, config: { ...stored.config, ...fields } });
        return true;
      },
    },
    inspector?.inspect,
  );
  options.onOpenContext?.(openContext);
  const { input, registry } = buildTree(config, openContext);
  await loadTransports(config);
  await lifecycle.start({ name: 'buses', stop: () => registry.closeAll() });
  const tree = bindSupervisorTree({
    registry,
    sink: notices.publish,
    clock: systemClock,
    snapshots: snapshotPortOf(persistence.snapshots),
    mqtt: mqtt.link,
    ...inspectOption,
  });
  const root = createActor(tree.logic, { input, clock: systemClock, ...inspectOption });
  const send = (event: RootEvent) => root.send(event);
  let busInputs = Object.fromEntries(input.buses.map((bus) => [bus.busId, bus]));
  const applyConfig = (next: FieldbridgeConfig, removedBecause?: string) => {
    const nextInput = defineTree(next, registry);
    const changes = busChanges(busInputs, nextInput.buses);
    send({ type: 'RECONFIGURE', buses: nextInput.buses });
    for (const busId of changes.removed) void registry.closeBus(busId);
    busInputs = Object.fromEntries(nextInput.buses.map((bus) => [bus.busId, bus]));
    config = next;
    bridge.reconfigure(next, removedBecause);
    log.info(`config applied: restarted ${changes.started.length} buses, stopped ${changes.removed.length}`, {
      ...changes,
    });
    return { restarted: changes.started, stopped: changes.removed };
  };
  const reloader = new ConfigReloader(options.configSource, fileConfig, process.env, {
    apply: async (next, changed) => {
      const services = await applyServiceSettings(next, changed, {
        mqtt,
        persistence,
        http: operations,
        log,
      });
      currentFile = next;
      return { ...applyConfig(effective()), ...services };
    },
  });
  const addDevices = (found: DiscoveredDevice[]) => {
    const before = new Set(config.devices.map((device) => device.id));
    persistence.transaction(() => {
      for (const device of found) {
        persistence.discovered.save(device);
        // A device removed earlier and added again by a scan: its driver may add it by itself again.
        const forgotten = forgetKeyOf(device.config);
        if (forgotten) persistence.discovered.unforget(forgotten.driver, forgotten.key.value);
      }
    });
    const next = effective();
    const added = next.devices.filter((device) => !before.has(device.id)).map((device) => device.id);
    // A device found again with other settings (a gateway paired again: new address, new password).
    const running = new Map(config.devices.map((device) => [device.id, JSON.stringify(device)]));
    const changed = next.devices.some(
      (device) => running.has(device.id) && running.get(device.id) !== JSON.stringify(device),
    );
    if (added.length > 0 || changed) applyConfig(next);
    return added;
  };
  const scanner = new BusScanner({ registry, config: () => config, addDevices });
  // Each driver that takes devices its buses hear by itself (BLE's auto_add).
  const autoAdders = DRIVER_MODULES.flatMap((driver) =>
    driver.autoAdd
      ? [
          driver.autoAdd({
            config: () => config,
            addDevices,
            forgotten: () => persistence.discovered.forgottenKeys(driver.name),
            offer: (type, data) => bridge.publishEvent(type, data),
            log: (message) => log.info(message),
          }),
        ]
      : [],
  );
  const removeDevice = (id: string) =>
    removeFoundDevice(id, {
      fileConfig: () => currentFile,
      configSource: options.configSource,
      running: () => config,
      discovered: persistence.discovered,
      transaction: (fn) => persistence.transaction(fn),
      apply: () => applyConfig(effective(), 'removed on request'),
      forget: (ids) => bridge.forgetDevices(ids, 'removed on request'),
    });
  await lifecycle.start({
    name: 'auto-add collectors',
    stop: () => {
      for (const autoAdd of autoAdders) autoAdd.stop();
    },
  });
  const scans = new AbortController();
  const bridge: Bridge = new Bridge({
    config,
    version,
    persistence,
    link: bridgeLinkOf(mqtt.link),
    clock: systemClock,
    send,
    reloadConfig: () => reloader.reload(),
    scan: (request) => scanner.scan(request, scans.signal),
    removeDevice,
    openContext,
  });
  notices.onAny('bridge', bridge.handleNotice);
  const operations = new Operations({
    config: () => config,
    configSource: options.configSource,
    reload: () => reloader.reload(),
    tree: { root, buses: tree.buses },
    bridge,
    queue: persistence.outbox,
    mqtt: mqtt.link,
    scan: (request) => scanner.scan(request, scans.signal),
    send,
    removeDevice,
    about: { version, startedAt: systemClock.now() },
  });
  notices.onAny('HTTP server', operations.handle);
  notices.onAny(
    'rescans',
    rescanOnNotices(() => config, scanner, scans.signal),
  );

  let exitCode = EXIT_OK;
  let requestStop: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => {
    requestStop = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => requestStop(signal);
  const onFatal = (error: unknown) => {
    log.error('unexpected error outside the supervision tree; stopping so the service manager restarts us', {
      error,
    });
    exitCode = EXIT_INTERNAL;
    requestStop('fatal error');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  options.signal?.addEventListener('abort', () => requestStop('aborted'), { once: true });
  root.subscribe({ error: onFatal });

  await lifecycle.start({ name: 'bridge', start: () => bridge.start(), stop: () => bridge.stop() });
  await lifecycle.start({
    name: 'supervision tree',
    start: () => void root.start(),
    stop: () => void root.stop(),
  });
  // Before the root stops: the buses shut down the last started first, their devices likewise.
  await lifecycle.start({ name: 'bus supervisors', stop: () => tree.shutdown() });
  // What the broker takes at the end need not be sent after the restart; the root hosts the MQTT link,
  // so this stops before it (a reading or two more is queued meanwhile, and kept).
  await lifecycle.start({
    name: 'final drain',
    stopTimeoutMs: FINAL_DRAIN_MS + SHUTDOWN_DEADLINE_MS,
    stop: async () => {
      if (options.leaveNothingRetained) bridge.retire('leaving the broker as it was found');
      const left = await bridge.drain(FINAL_DRAIN_MS);
      if (left > 0) log.info(`${left} messages stay queued for the next start`);
    },
  });
  await lifecycle.start({
    name: 'HTTP server',
    start: () => operations.start(),
    stop: () => operations.stop(),
  });
  const devices = input.buses.reduce((sum, bus) => sum + bus.devices.length, 0);
  log.info(`fieldbridge ${version} started: ${devices} devices on ${input.buses.length} buses`, {
    config: options.configSource,
  });
  if (devices === 0 && config.mbus.length === 0 && config.dali.length === 0 && config.ble.length === 0) {
    log.info('no devices configured: idling (add devices to the config file)');
  }
  await lifecycle.start({
    name: 'scans',
    start: () => scanLinesAtStart(config, scanner, scans.signal),
    stop: () => scans.abort(new Error('fieldbridge is stopping')),
  });
  const timers: (() => void)[] = [];
  await lifecycle.start({
    name: 'periodic tasks',
    start: () => {
      // The health tick writes the summaries of ongoing outages; it also keeps an idle gateway alive.
      timers.push(
        every(systemClock, config.health.interval_ms, () => {
          noticeLog.flush();
          mqtt.link.flushLog();
        }),
      );
      // Readings history beyond retention_days: once at start, then daily (batched, never blocks long).
      const runCleanup = () =>
        void persistence.cleanup().catch((error: unknown) => log.warn('history cleanup failed', { error }));
      runCleanup();
      timers.push(every(systemClock, DAY_MS, runCleanup));
    },
    stop: () => timers.forEach((cancel) => cancel()),
  });

  const reason = await stopped;
  log.info(`stopping (${reason})`);
  await lifecycle.stopAll();
  log.info('stopped');
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.off('uncaughtException', onFatal);
  process.off('unhandledRejection', onFatal);
  await closeLogging(500);
  return exitCode;
}
