import { DEFAULT_SIMULATED_CREDENTIALS, DEFAULT_SIMULATED_SERIAL } from '../simulatedDefaults.js';

// `fieldbridge simulate dalicenter --help`, apart from the simulator so the CLI shows it without loading any.

export const DALICENTER_SIMULATE_USAGE = `Usage: fieldbridge simulate dalicenter [options]

Simulates a Sunricher DALI Center gateway (SR-GW-EDA): the encrypted UDP discovery (credentials only
while its button is pressed), its own MQTT broker with a user name and password on the fixed topics
/<serial>/server/publish/ and /<serial>/client/reciver/, and a virtual DALI line with a light of each
device type, motion and illuminance sensors and button panels. Runs until Ctrl-C or SIGTERM.

Options:
      --serial SN        gwSn, 12 hex digits (default ${DEFAULT_SIMULATED_SERIAL})
      --host ADDR        Where the broker listens (default 127.0.0.1; 0.0.0.0 for the network)
      --port PORT        The broker's port (default 1883; 0 picks a free one)
      --announce ADDR    gwIp announced by discovery (default: --host, 127.0.0.1 for 0.0.0.0)
      --discovery-port P Where discovery requests are heard (default 1900; 0 picks a free one)
      --bind ADDR        The discovery socket's address (default 0.0.0.0)
      --interface ADDR   Join 239.255.255.250 on this interface address (default: --announce)
      --reply-port PORT  Where discovery replies go, unicast and multicast (default 50569)
      --user NAME        The broker's user name (default ${DEFAULT_SIMULATED_CREDENTIALS.username})
      --password TEXT    The broker's password (default ${DEFAULT_SIMULATED_CREDENTIALS.password})
      --button SECONDS   Press the button at start for this long (pairing without typing "press")
  -v, --verbose          Log every command received
  -h, --help             Show this help

While it runs, type commands on stdin (help lists them): press [S], reboot [S], move PORT [ADDR],
silence on|off, reset, kick CLIENT_ID, credentials USER PASSWORD, garbage, unknown, panel ADDR KEY
EVENT, motion ADDR STATE, lux ADDR LUX, online ADDR on|off, energy ADDR WH, status.
SIGUSR1 presses the button for 30 s, SIGUSR2 reboots for 5 s.`;

export const DALICENTER_CONSOLE_HELP = `commands:
  press [S]              press the gateway's button for S seconds (default 30)
  reboot [S]             reboot: broker and discovery gone for S seconds (default 5)
  move PORT [ADDR]       the broker moves to PORT (0: any) and ADDR (an IP change)
  silence on|off         the broker accepts but answers nothing (keepalive runs out)
  reset                  reset every MQTT connection (TCP RST)
  kick CLIENT_ID         drop one client, as a duplicate client id does
  credentials USER PASS  other credentials; logged-in clients are dropped
  garbage                publish invalid UTF-8 on the report topic
  unknown                publish a message with an unknown cmd
  panel ADDR KEY EVENT   a panel event: press, hold, double_press, rotate, release
  motion ADDR STATE      no_motion, motion, vacant, occupancy, presence
  lux ADDR LUX           an illuminance reading (any number, invalid ones too)
  online ADDR on|off     a device goes online or offline
  energy ADDR WH         add WH to a device's energy and report it
  status                 what is going on
  help                   this list`;
