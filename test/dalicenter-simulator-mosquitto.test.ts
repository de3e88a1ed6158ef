import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  encodeCommand,
  getVersion,
  parseInbound,
  writeLight,
} from '../src/drivers/dalicenter/codec/index.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import { eventually } from './helpers/eventually.js';

// The simulated gateway seen by another MQTT implementation than mqtt.js: the Debian mosquitto clients
// (MQTT 3.1.1, as the SDK's paho). Skipped, saying so, without mosquitto-clients.

const SUB = '/usr/bin/mosquitto_sub';
const PUB = '/usr/bin/mosquitto_pub';
const PRESENT = existsSync(SUB) && existsSync(PUB);
if (!PRESENT) console.warn('skipping the mosquitto client checks: mosquitto-clients is not installed');
const run = promisify(execFile);

let gateway: SimulatedDaliCenter;

beforeEach(async () => {
  gateway = new SimulatedDaliCenter({ discovery: false });
  await gateway.start();
});

afterEach(async () => {
  await gateway.stop();
});

const login = (password: string) => [
  '-h',
  '127.0.0.1',
  '-p',
  String(gateway.mqttPort),
  '-V',
  'mqttv311',
  '-u',
  'admin',
  '-P',
  password,
];

describe.skipIf(!PRESENT)('DALI Center simulator with the mosquitto clients', () => {
  it('mosquitto_sub is refused with a wrong password', async () => {
    await expect(
      run(SUB, [...login('wrong'), '-t', gateway.reportTopic, '-C', '1', '-W', '3']),
    ).rejects.toMatchObject({
      stderr: expect.stringMatching(/bad user ?name or password/i),
    });
  });

  it("a command published by mosquitto_pub is answered to mosquitto_sub in the notes' shapes", async () => {
    let output = '';
    const sub = spawn(SUB, [...login('password123'), '-t', gateway.reportTopic, '-C', '3', '-W', '5']);
    sub.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => sub.on('exit', resolve));
    await eventually(() => gateway.clientIds().length === 1, { what: 'mosquitto_sub to log in' });
    const envelope = { gatewaySerial: gateway.serial, msgId: '1760000000-1' };
    await run(PUB, [
      ...login('password123'),
      '-t',
      gateway.commandTopic,
      '-m',
      encodeCommand(getVersion(), envelope),
    ]);
    await run(PUB, [
      ...login('password123'),
      '-t',
      gateway.commandTopic,
      '-m',
      encodeCommand(writeLight({ devType: '0101', channel: 0, address: 0 }, { on: true, brightness: 1000 }), {
        ...envelope,
        msgId: '1760000000-2',
      }),
    ]);
    expect(await exited).toBe(0);
    const messages = output
      .trim()
      .split('\n')
      .map((line) => parseInbound(line, { gatewaySerial: gateway.serial }));
    expect(messages.map((result) => result.ok && result.message)).toEqual([
      {
        cmd: 'getVersionRes',
        msgId: '1760000000-1',
        gwSn: gateway.serial,
        software: '3.72',
        firmware: '1.47',
      },
      { cmd: 'writeDevRes', msgId: '1760000000-2', gwSn: gateway.serial, ack: true },
      expect.objectContaining({
        cmd: 'devStatus',
        report: { kind: 'light', state: { on: true, brightness: 1000 } },
      }),
    ]);
  });
});
