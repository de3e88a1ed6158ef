// `fieldbridge simulate mbus --help`, apart from the simulator so the CLI shows it without loading any.

export const BAUD_RATES = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400];

export const MBUS_SIMULATE_USAGE = `Usage: fieldbridge simulate mbus --link PATH [options]
       fieldbridge simulate mbus --tcp PORT [options]

Simulates M-Bus meters (the slave side) on a pty pair made with socat: point the gateway's M-Bus
port at PATH (e.g. port: /tmp/ttyMBUS). The meters answer SND_NKE, REQ_UD2 (FCB, multi-telegram
readouts), secondary selection with wildcards (several matches collide), address changes and
application reset. Runs until Ctrl-C or SIGTERM. Needs socat (Debian: apt-get install socat).

Options:
  -l, --link PATH      Where the gateway's end of the pty appears
      --tcp PORT       Instead of a pty: serve the meters behind a simulated Ethernet level
                       converter on 127.0.0.1:PORT (the gateway's port: tcp://127.0.0.1:PORT)
  -n, --meters N       N meters of different media at primary addresses 1..N (default 3)
  -b, --baud B         Line speed: ${BAUD_RATES.join(', ')} (default 2400); replies take the
                       time they would on the wire
  -c, --config FILE    meters.yaml: baud, seed, fast, turnaround_ms, spread_answers, faults,
                       meters (answer_delay_ms per meter)
      --seed N         Seed of the faults and collisions (default 1)
      --fast           Reply at once (no simulated time on the wire)
      --spread         Each meter answers at its own moment inside the standard's answer window
                       (11 bit times to 330 bit times + 50 ms): a wildcard select gets E5s one
                       after another, or overlapping, as on a real bus
      --noanswer RATE  Lose this share of replies (0-1)
      --corrupt RATE   Send this share of replies with a bad checksum (0-1)
      --slow MS        Delay every reply by MS more milliseconds
  -v, --verbose        Log every frame received and sent
  -h, --help           Show this help

While it runs, type commands on stdin (help lists them): unplug, replug, noanswer RATE,
corrupt RATE, slow MS, meter ADDR|ID dead, meter ADDR|ID alive, halfopen (TCP), status.
SIGUSR1 unplugs, SIGUSR2 replugs.`;
