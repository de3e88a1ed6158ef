// Whether this machine can run the simulated BlueZ (dbus-daemon on PATH), asked by the demo at start
// without loading any simulator: the BLE driver's check, through this one door (a known offender of the
// driver boundary until it moves to src/drivers/shared/ with the connected-BLE layer).

export { findDbusDaemon } from '../ble/dbusDaemon.js';
