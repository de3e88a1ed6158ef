// Whether this machine can run the simulated BlueZ (dbus-daemon on PATH), asked by the demo at start
// without loading any simulator.

export { findDbusDaemon } from '../shared/bluez/dbusDaemon.js';
