// `fieldbridge simulate bluez --help`, apart from the simulator so the CLI shows it without loading any.

export const BLUEZ_USAGE = `Usage: fieldbridge simulate bluez [--start-bus | --bus-address ADDRESS] [options]

Plays bluetoothd (org.bluez: adapter hci0, one Device1 per sensor, ObjectManager) on a D-Bus, with
BLE sensors that advertise while a client scans: BTHome v2 thermometers (some encrypted), Ruuvi tags
(format 5) and pvvx thermometers. Point the gateway's ble.bus_address at the printed address. Runs
until Ctrl-C or SIGTERM. Needs dbus-daemon for --start-bus (Debian: apt-get install dbus-daemon).

Options:
      --start-bus            Start a private dbus-daemon and print its address first on stdout
                             (the default)
      --bus-address ADDRESS  Serve on this bus instead (unix:path=… only)
  -n, --sensors N            N sensors (default 3: BTHome, Ruuvi, encrypted BTHome; then pvvx, …)
      --interval-ms MS       Each sensor advertises every MS ms while scanned (default 1000)
      --restart-delay-ms MS  How long org.bluez is gone on "restart" (default 1000)
      --seed N               Seed of the sensors' addresses, keys and values (default 1)
  -v, --verbose              Log every method call and advertisement
  -h, --help                 Show this help

While it runs, type commands on stdin (help lists them): hang METHOD, unhang [METHOD], stuck,
unstuck, poweroff, poweron, remove-adapter, add-adapter, restart [MS], add-sensor KIND, status.
SIGUSR1 removes the adapter, SIGUSR2 adds it back.`;
