import { connectAsync, type MqttClient } from 'mqtt';
import type { SubscriberReply, SubscriberRequest } from './subscriber.js';

// The receiving end of the MQTT benchmarks, in a process of its own (as Home Assistant would be), so
// its work neither competes with the gateway's event loop nor counts in the gateway's memory. Forked by
// SubscriberProcess (subscriber.ts) with the broker URL as its argument; one plain mqtt.js client,
// QoS 1 subscriptions, PUBACKs sent by mqtt.js as each message arrives.
//
// Times are process.hrtime (CLOCK_MONOTONIC, the same clock in every process on the machine), in µs,
// so the parent can subtract its own readings of it.

const url = process.argv[2];
if (!url) throw new Error('usage: subscriberProcess.ts <broker url>');

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const send = (reply: SubscriberReply) => process.send?.(reply);

interface Watch {
  filter: string;
  readings: number;
  marker: string | undefined;
  latency: boolean;
  total: number;
  received: number;
  sawMarker: boolean;
  latenciesUs: number[];
}

let watch: Watch | undefined;

function check(current: Watch): void {
  if (current.received < current.readings || (current.marker !== undefined && !current.sawMarker)) return;
  watch = undefined;
  send({
    type: 'done',
    atUs: nowUs(),
    total: current.total,
    readings: current.received,
    latenciesUs: current.latenciesUs,
  });
  client.unsubscribe(current.filter);
}

const client: MqttClient = await connectAsync(url, {
  clientId: `fieldbridge-bench-subscriber-${process.pid}`,
  reconnectPeriod: 0,
  clean: true,
});

client.on('message', (topic, payload) => {
  const current = watch;
  if (!current) return;
  current.total++;
  if (topic.endsWith('/reading')) {
    current.received++;
    if (current.latency) {
      const produced = (JSON.parse(payload.toString()) as { t: number }).t;
      current.latenciesUs.push(nowUs() - produced);
    }
  } else if (topic === current.marker) {
    current.sawMarker = true;
  }
  check(current);
});

process.on('message', (message: SubscriberRequest) => {
  switch (message.type) {
    case 'watch': {
      const current: Watch = {
        filter: message.filter,
        readings: message.readings,
        marker: message.marker,
        latency: message.latency,
        total: 0,
        received: 0,
        sawMarker: false,
        latenciesUs: [],
      };
      watch = current;
      client.subscribe(message.filter, { qos: 1 }, (error) => {
        if (error) throw error;
        send({ type: 'ready' });
      });
      return;
    }
    case 'status':
      send({ type: 'status', total: watch?.total ?? 0, readings: watch?.received ?? 0 });
      return;
    case 'exit':
      client.end(false, () => process.disconnect());
      return;
  }
});

// Asked to exit, or the parent is gone: either way the IPC channel closes, and this process ends.
process.once('disconnect', () => {
  client.end(true);
  process.exit(0);
});

send({ type: 'connected' });
