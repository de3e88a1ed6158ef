// What can be wrong with a message from (or to) a DALI Center gateway, as a closed set of kinds. The
// inbound parser never throws: it returns a problem of one of these kinds, so the runtime can log each
// kind once (the HA integration's users saw logs flooded and Home Assistant crashed on such input) and
// tests can check that nothing else escapes. Builders, which only the driver itself calls, throw a
// DaliCenterCodecError of kind `bad_argument` for a value the protocol cannot carry.

export type DaliCenterProblemKind =
  /** The payload is not valid UTF-8 (gateways have sent such payloads: SDK commit dbcfc0a). */
  | 'invalid_utf8'
  /** Valid text that is not JSON. */
  | 'not_json'
  /** JSON, but not an object (an array, a number, null...). */
  | 'not_object'
  /** An object without a string `cmd`. */
  | 'missing_cmd'
  /** A `cmd` this codec does not know. */
  | 'unknown_cmd'
  /** A field the message needs is absent. */
  | 'missing_field'
  /** A field of the wrong JSON type (a string where a number is needed...). */
  | 'wrong_type'
  /** A number or code outside what the protocol allows (brightness 1200, address 64, lux 0...). */
  | 'out_of_range'
  /** A devType this codec cannot classify. */
  | 'unknown_device_type'
  /** A message whose gwSn names another gateway than the one the link belongs to. */
  | 'foreign_gateway'
  /** Discovery: the hex of a ciphertext is not hex. */
  | 'bad_hex'
  /** Discovery: a ciphertext that does not decrypt to what the protocol puts there. */
  | 'undecryptable'
  /** A value a builder was asked to encode that the protocol cannot carry. */
  | 'bad_argument';

/** One problem: its kind, the message's `cmd` when known, the field at fault, and a sentence for the log. */
export interface DaliCenterProblem {
  kind: DaliCenterProblemKind;
  cmd?: string;
  field?: string;
  detail: string;
}

export class DaliCenterCodecError extends Error {
  override readonly name = 'DaliCenterCodecError';
  constructor(
    readonly kind: DaliCenterProblemKind,
    message: string,
  ) {
    super(message);
  }
}

export function badArgument(message: string): never {
  throw new DaliCenterCodecError('bad_argument', message);
}

export function problem(
  kind: DaliCenterProblemKind,
  detail: string,
  where: { cmd?: string; field?: string } = {},
): DaliCenterProblem {
  return {
    kind,
    detail,
    ...(where.cmd !== undefined ? { cmd: where.cmd } : {}),
    ...(where.field !== undefined ? { field: where.field } : {}),
  };
}

/** The outcome of parsing untrusted input: a value, or one problem saying why not. Never an exception. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: DaliCenterProblem };

export function parsed<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

export function refused<T>(found: DaliCenterProblem): Parsed<T> {
  return { ok: false, problem: found };
}
