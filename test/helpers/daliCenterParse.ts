import {
  type DaliCenterProblemKind,
  type InboundMessage,
  type InboundResult,
  parseInbound,
} from '../../src/drivers/dalicenter/codec/index.js';

// Shorthands of the DALI Center inbound parser tests: parse a payload (an object is sent as JSON) for the
// simulated serial, and take the message, the refusal's kind or the kinds of the parts dropped.

export const SN = '6A242121110E';
export const parse = (payload: unknown): InboundResult =>
  parseInbound(
    typeof payload === 'string' || payload instanceof Uint8Array ? payload : JSON.stringify(payload),
    { gatewaySerial: SN },
  );

export function message(payload: unknown): InboundMessage {
  const result = parse(payload);
  if (!result.ok) throw new Error(`refused: ${result.problem.kind}: ${result.problem.detail}`);
  return result.message;
}

export function refusal(payload: unknown): DaliCenterProblemKind {
  const result = parse(payload);
  if (result.ok) throw new Error(`accepted: ${JSON.stringify(result.message)}`);
  return result.problem.kind;
}

export function problemKinds(payload: unknown): DaliCenterProblemKind[] {
  const result = parse(payload);
  if (!result.ok) throw new Error(`refused: ${result.problem.detail}`);
  return result.problems.map((found) => found.kind);
}

export const status = (devType: string, address: number, property: unknown[]) => ({
  cmd: 'devStatus',
  gwSn: SN,
  data: { devType, channel: 0, address, property },
});
