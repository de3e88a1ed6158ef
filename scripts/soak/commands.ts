import type { Recorder } from './recorder.js';

// Bursts of bad MQTT input: what a buggy integration or a hostile client sends. Each message must get
// an error answer on its response topic and do nothing else; one that is answered "ok" or not at all is
// counted against the gateway. Answers are matched by response topic (several messages share one, so
// they are counted, not paired): the soak is the only client commanding the gateway.

export interface BadCommand {
  what: string;
  topic: string;
  payload: string | Buffer;
  /** Where the gateway answers it. */
  responseTopic: string;
}

export interface BurstResult {
  sent: number;
  answeredWithError: number;
  /** Answered "ok": a bad message the gateway accepted. */
  accepted: number;
  unanswered: number;
  /** The kinds of message that were not answered with an error. */
  failures: string[];
}

const OVERSIZED_BYTES = 70 * 1024;

export function badCommands(base: string, ids: { lamp: string; meter: string }): BadCommand[] {
  const request = (name: string, what: string, payload: string | Buffer): BadCommand => ({
    what,
    topic: `${base}/bridge/request/${name}`,
    payload,
    responseTopic: `${base}/bridge/response/${name}`,
  });
  const command = (id: string, what: string, payload: string | Buffer, operation = 'set'): BadCommand => ({
    what,
    topic: `${base}/${id}/${operation}`,
    payload,
    responseTopic: `${base}/${id}/response`,
  });
  return [
    request('device/restart', 'malformed JSON', '{"id":'),
    request('device/restart', 'wrong type', '{"id":42}'),
    request('device/restart', 'unknown device (request)', '{"id":"soak_no_such_device"}'),
    request('health_chek', 'unknown request', '{}'),
    request('log_level', 'array instead of object', '[1,2,3]'),
    request('scan', 'wrong type in scan', '{"driver":"mbus","from":"zero"}'),
    request('simulation/fault', 'unknown fault', '{"driver":"dali","fault":"explode"}'),
    command('soak_no_such_device', 'unknown device (command)', '{"state":"ON"}'),
    command(ids.lamp, 'oversized payload', JSON.stringify({ state: 'ON', pad: 'x'.repeat(OVERSIZED_BYTES) })),
    command(ids.lamp, 'wrong type in command', '{"brightness":"bright"}'),
    command(ids.lamp, 'out of range', '{"brightness":999}'),
    command(ids.lamp, 'unknown field', '{"colour":"red"}'),
    command(ids.lamp, 'binary garbage', Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x80])),
    command(ids.meter, 'operation the driver lacks', '{"state":"ON"}'),
  ];
}

/** Sends every command, then waits (up to `timeoutMs`) for as many answers on each response topic. */
export async function sendBurst(
  recorder: Recorder,
  commands: readonly BadCommand[],
  timeoutMs: number,
  sleep: (ms: number) => Promise<void>,
): Promise<BurstResult> {
  const since = Date.now();
  const expected = new Map<string, BadCommand[]>();
  for (const command of commands) {
    expected.set(command.responseTopic, [...(expected.get(command.responseTopic) ?? []), command]);
  }
  for (const command of commands) await recorder.publish(command.topic, command.payload);
  // The soak's own requests (simulation faults, transaction "soak-…") share a topic with one of these.
  const answers = (topic: string) =>
    recorder.responses.filter(
      (r) =>
        r.topic === topic &&
        r.at >= since &&
        !(typeof r.transaction === 'string' && r.transaction.startsWith('soak-')),
    );
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ([...expected].every(([topic, sent]) => answers(topic).length >= sent.length)) break;
    await sleep(100);
  }
  const result: BurstResult = {
    sent: commands.length,
    answeredWithError: 0,
    accepted: 0,
    unanswered: 0,
    failures: [],
  };
  for (const [topic, sent] of expected) {
    const got = answers(topic).slice(0, sent.length);
    const errors = got.filter((answer) => answer.status === 'error').length;
    result.answeredWithError += errors;
    result.accepted += got.length - errors;
    result.unanswered += sent.length - got.length;
    // Which message of a shared topic went wrong cannot be told; name them all.
    if (errors < sent.length) result.failures.push(...sent.map((command) => command.what));
  }
  return result;
}
