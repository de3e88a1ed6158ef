import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { findDbusDaemon } from '../actors/ble/simulator/daemon.js';
import { socatAvailable } from '../actors/mbus/simulator/pty.js';
import { MbusSimulator } from '../actors/mbus/simulator/simulator.js';
import { demoConfig } from '../config/demo.js';
import type { FieldbridgeConfig } from '../config/index.js';
import type { GatewayRunner } from './io.js';

// The demo, when socat is installed, reads its meters over a real serial line: the M-Bus meter
// simulator serves a pty pair beside the database, and the demo's two meters are configured on it, so
// `npm start` on a fresh machine shows real M-Bus frames going through the whole gateway. Likewise, with
// dbus-daemon installed, the demo's BLE sensors advertise on a fake BlueZ that the gateway reaches over
// D-Bus (in place of the software thermometer).

export function withDemoMeters(runGateway: GatewayRunner, log: (line: string) => void): GatewayRunner {
  return async (config: FieldbridgeConfig, options) => {
    // BLE: with dbus-daemon, sensors on a fake BlueZ inside the gateway (the whole D-Bus path).
    const bluez = findDbusDaemon() !== undefined;
    if (bluez) log('fieldbridge demo: BLE sensors on a simulated BlueZ adapter (hci0), added by auto_add');
    else log('fieldbridge demo: install dbus-daemon to run the demo BLE sensors over a simulated BlueZ');
    if (!socatAvailable()) {
      log('fieldbridge demo: install socat to read the demo meters over a simulated M-Bus serial line');
      return runGateway(bluez ? demoConfig(undefined, { bluez }) : config, options);
    }
    const link = resolve(dirname(config.persistence.path), 'ttyMBUS-demo');
    mkdirSync(dirname(link), { recursive: true });
    const simulator = new MbusSimulator({ link, log: (line) => log(`mbus simulator: ${line}`) });
    await simulator.start();
    log(
      `fieldbridge demo: M-Bus meter simulator serving ${link} (addresses 1-3); meters 1 and 2 are configured`,
    );
    try {
      return await runGateway(demoConfig(link, { bluez }), options);
    } finally {
      await simulator.stop();
    }
  };
}
