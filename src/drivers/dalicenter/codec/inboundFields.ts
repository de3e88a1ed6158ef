import type { ReportedProperty } from './dataPoints.js';
import { classifyDeviceType, isDeviceTypeCode } from './deviceTypes.js';
import { type DaliCenterProblem, type Parsed, parsed, problem, refused } from './errors.js';
import { deviceUniqueId, groupUniqueId } from './identity.js';
import type { DeviceRef } from './inboundTypes.js';
import { type FieldContext, isObject, type JsonObject, readInteger, readString } from './json.js';

// Readers of the parts that recur in gateway messages: a device's (devType, channel, address) and a
// property list. Each returns a problem instead of throwing.

/** Short addresses are DALI's 0-63; a scene member of devType 0401 carries a group id there instead. */
const MAX_ADDRESS = 63;
const MAX_GROUP_ID = 65_535;

export function readDeviceRef(
  object: JsonObject,
  context: FieldContext,
  gatewaySerial: string,
): Parsed<DeviceRef> {
  const devType = readString(object, 'devType', context);
  if (!devType.ok) return devType;
  if (!isDeviceTypeCode(devType.value)) {
    const field = context.path === '' ? 'devType' : `${context.path}.devType`;
    return refused(
      problem('out_of_range', `${field} "${devType.value.slice(0, 20)}" is not a 4- or 6-hex-digit code`, {
        cmd: context.cmd,
        field,
      }),
    );
  }
  const deviceClass = classifyDeviceType(devType.value);
  const channel = readInteger(object, 'channel', context, 0, 255);
  if (!channel.ok) return channel;
  const address = readInteger(
    object,
    'address',
    context,
    0,
    deviceClass.kind === 'group_reference' ? MAX_GROUP_ID : MAX_ADDRESS,
  );
  if (!address.ok) return address;
  const device = { devType: deviceClass.devType, channel: channel.value, address: address.value };
  // The unique id's fixed widths hold channels below 10000 and addresses below 100: both checked above.
  const uniqueId =
    deviceClass.kind === 'group_reference'
      ? groupUniqueId(device.address, device.channel, gatewaySerial)
      : deviceUniqueId(device, gatewaySerial);
  return parsed({ ...device, deviceClass, uniqueId });
}

/** The problem to note beside a device of a type nobody can interpret (kept, but said once per kind). */
export function unknownTypeProblem(device: DeviceRef, cmd: string): DaliCenterProblem | undefined {
  return device.deviceClass.kind === 'unknown'
    ? problem(
        'unknown_device_type',
        `devType ${device.devType} is not a type the gateway is known to report`,
        { cmd, field: 'devType' },
      )
    : undefined;
}

/**
 * A property list: each entry {dpid|id, value[, keyNo]}. Entries without an integer dpid are dropped with
 * a problem; the list as a whole is refused only when it is not an array.
 */
export function readProperties(
  list: unknown,
  context: FieldContext,
  problems: DaliCenterProblem[],
): Parsed<ReportedProperty[]> {
  const field = context.path === '' ? 'property' : `${context.path}.property`;
  if (list === undefined || list === null)
    return refused(problem('missing_field', `${field} is missing`, { cmd: context.cmd, field }));
  if (!Array.isArray(list))
    return refused(problem('wrong_type', `${field} must be an array`, { cmd: context.cmd, field }));
  const properties: ReportedProperty[] = [];
  for (const entry of list) {
    if (!isObject(entry)) {
      problems.push(
        problem('wrong_type', `an entry of ${field} is not an object`, { cmd: context.cmd, field }),
      );
      continue;
    }
    const rawDpid = entry.dpid ?? entry.id;
    const dpid = typeof rawDpid === 'string' && /^\d+$/.test(rawDpid) ? Number(rawDpid) : rawDpid;
    if (typeof dpid !== 'number' || !Number.isInteger(dpid) || dpid < 0) {
      problems.push(
        problem(
          rawDpid === undefined ? 'missing_field' : 'wrong_type',
          `an entry of ${field} has no integer dpid (${JSON.stringify(rawDpid)?.slice(0, 20)})`,
          { cmd: context.cmd, field },
        ),
      );
      continue;
    }
    const rawKey = entry.keyNo;
    const keyNo = typeof rawKey === 'string' && /^\d+$/.test(rawKey) ? Number(rawKey) : rawKey;
    properties.push({ dpid, value: entry.value, ...(typeof keyNo === 'number' ? { keyNo } : {}) });
  }
  return parsed(properties);
}

/** Each element of an array field parsed by `read`; bad elements are dropped with their problem. */
export function eachEntry<T>(
  list: unknown[],
  context: FieldContext,
  problems: DaliCenterProblem[],
  read: (entry: JsonObject, context: FieldContext) => Parsed<T>,
): T[] {
  const results: T[] = [];
  list.forEach((entry, index) => {
    const at: FieldContext = {
      ...(context.cmd !== undefined ? { cmd: context.cmd } : {}),
      path: `${context.path}[${index}]`,
    };
    if (!isObject(entry)) {
      problems.push(
        problem('wrong_type', `${at.path} is not an object`, { cmd: context.cmd, field: at.path }),
      );
      return;
    }
    const result = read(entry, at);
    if (result.ok) results.push(result.value);
    else problems.push(result.problem);
  });
  return results;
}
