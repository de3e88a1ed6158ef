import type { JsonValue } from '../contract.js';
import { type LightCapability, lightSet } from '../shared/capabilities.js';
import {
  type DeviceAddress,
  deviceKey,
  type InboundMessage,
  type LightCommand,
  readDevices,
  rgbToHsv,
  toGatewayBrightness,
  writeGroup,
  type WriteProperty,
  writeLight,
} from './codec/index.js';
import { DALICENTER_LIGHT } from './capabilities.js';
import { type GatewayLink, REPLY_TIMEOUT_MS } from './link.js';

// Light and group commands in the gateway's terms, and how each is confirmed: by the status the gateway
// sends of what it changed (or a read when none comes), never by what was asked.

/** How long a command waits for the gateway's status of what it changed before reading it. */
export const CONFIRM_TIMEOUT_MS = 3_000;

/** A light's `set` (already checked against its capability) as the gateway's data points. */
export function lightCommandOf(
  args: JsonValue,
  capability: LightCapability = DALICENTER_LIGHT,
): LightCommand {
  const asked = lightSet(capability, args);
  const command: LightCommand = {};
  if (asked.color_temp !== undefined) command.kelvin = asked.color_temp;
  if (asked.color !== undefined) {
    if ('h' in asked.color)
      command.hsv = {
        hue: Math.round(asked.color.h) % 361,
        saturation: Math.round(asked.color.s * 10),
        value: 1000,
      };
    else {
      command.hsv = rgbToHsv(asked.color.r, asked.color.g, asked.color.b);
      command.white = asked.color.w;
    }
  }
  if (asked.state !== undefined) command.on = asked.state === 'ON';
  if (asked.brightness !== undefined) {
    // HA's brightness 0 is off; anything else is on at that level (0-255 → the gateway's 0-1000).
    if (asked.brightness === 0) command.on = false;
    else {
      command.brightness = toGatewayBrightness(asked.brightness, 255);
      command.on ??= true;
    }
  }
  if (Object.keys(command).length === 0)
    throw new Error('a light command needs "state", "brightness" or a colour');
  return command;
}

/** Writes a light and waits for its status (else reads it); rejects when the gateway refuses the write. */
export async function writeAndConfirm(
  link: GatewayLink,
  address: DeviceAddress,
  command: LightCommand,
  signal: AbortSignal,
): Promise<void> {
  let msgId = '';
  const key = deviceKey(address);
  const isStatus = (message: InboundMessage) =>
    (message.cmd === 'devStatus' || message.cmd === 'readDevRes') && deviceKey(message.device) === key;
  const answer = await link
    .waitFor(
      (message) =>
        (message.cmd === 'writeDevRes' && message.ack === false && (message.msgId ?? msgId) === msgId) ||
        isStatus(message),
      signal,
      CONFIRM_TIMEOUT_MS,
      `status of ${key}`,
      () => (msgId = link.send(writeLight(address, command))),
    )
    .catch(() => undefined);
  if (answer?.cmd === 'writeDevRes') throw new Error(`the gateway refused the command for ${key}`);
  if (answer === undefined) await readStatuses(link, [address], signal);
}

/** Reads devices' statuses (readDev) and waits for each one's readDevRes. */
export async function readStatuses(
  link: GatewayLink,
  devices: DeviceAddress[],
  signal: AbortSignal,
): Promise<void> {
  if (devices.length === 0) return;
  const keys = new Set(devices.map(deviceKey));
  const read = new Set<string>();
  await link.waitFor(
    (message) => {
      if (message.cmd === 'readDevRes' && keys.has(deviceKey(message.device)))
        read.add(deviceKey(message.device));
      return read.size >= keys.size;
    },
    signal,
    REPLY_TIMEOUT_MS,
    `the status of ${[...keys].join(', ')}`,
    () => link.send(readDevices(devices)),
  );
}

/**
 * Writes a group, one property per writeGroup as the vendor SDK sends, and waits (bounded) for its
 * members' statuses, listened for before the writes as they follow at once.
 */
export async function writeGroupAndWait(
  link: GatewayLink,
  group: { channel: number; groupId: number },
  properties: WriteProperty[],
  members: DeviceAddress[],
  signal: AbortSignal,
): Promise<void> {
  const keys = new Set(members.map(deviceKey));
  const reported = new Set<string>();
  const statuses =
    keys.size === 0
      ? Promise.resolve()
      : link
          .waitFor(
            (message) => {
              if (message.cmd === 'devStatus' && keys.has(deviceKey(message.device)))
                reported.add(deviceKey(message.device));
              return reported.size >= keys.size;
            },
            signal,
            CONFIRM_TIMEOUT_MS,
            `the statuses of group ${group.groupId}'s members`,
          )
          .then(
            () => undefined,
            () => undefined,
          );
  for (const property of properties) {
    const reply = await link.request(writeGroup(group.channel, group.groupId, property), signal);
    if (reply.cmd === 'writeGroupRes' && reply.ack === false)
      throw new Error(`the gateway refused the command for group ${group.groupId}`);
  }
  await statuses;
}
