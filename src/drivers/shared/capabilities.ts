import { z } from 'zod';
import type { EntityDescriptor } from '../../bridge/entities.js';
import type { JsonValue } from '../contract.js';

// What a device can do, declared once per device, after zigbee2mqtt's `exposes`: a light, a numeric
// or text value, a binary value, each with access flags saying whether the value is published in the
// device's state, can be commanded (`<base>/<id>/set`) and can be asked for (`<base>/<id>/get`). From
// one list come both the Home Assistant entities the bridge announces and the `set`/`get` schemas a
// command is checked against before it is queued, so an entity and the command that drives it cannot
// disagree (a light without brightness has no brightness slider and refuses `brightness`).

/** Access flags, as zigbee2mqtt's: combine with `|`. */
export const ACCESS = {
  /** The value is in the device's published state. */
  STATE: 1,
  /** The value can be commanded with `set`. */
  SET: 2,
  /** The value can be asked for with `get` (`{"<key>": ""}`). */
  GET: 4,
} as const;

/** What a value's entity looks like in Home Assistant, beyond its key. */
export interface ValueOptions {
  /** Unique within the device; part of the unique id and discovery topic. Default: the key. */
  objectId?: string;
  /** Default: the key, capitalised, with spaces for underscores. */
  name?: string;
  deviceClass?: string;
  unit?: string;
  stateClass?: EntityDescriptor['stateClass'];
  category?: EntityDescriptor['entityCategory'];
  icon?: string;
  /** A text value of named states: an `enum` sensor with these options. */
  options?: readonly string[];
  /** ACCESS flags; default STATE. */
  access?: number;
}

interface ValueCapability extends ValueOptions {
  /** Key of the value in the device's state JSON, and its field in `set`/`get`. */
  key: string;
  access: number;
}

export interface NumericCapability extends ValueCapability {
  type: 'numeric';
  /** Bounds of a commanded value. */
  min?: number;
  max?: number;
}

export interface TextCapability extends ValueCapability {
  type: 'text';
}

export interface BinaryCapability extends ValueCapability {
  type: 'binary';
}

export interface LightOptions {
  /** Dimmable: `brightness` from 0 to `max`; HA's 100 % is `scale` (default `max`). */
  brightness?: { max: number; scale?: number };
  /** Accepts `transition` (seconds, up to 90). */
  transition?: boolean;
  /**
   * The one colour mode besides brightness (a colour light has one): `color_temp` takes `color_temp`
   * in kelvin within the light's own limits, `hs` takes `color: {h, s}`, `rgbw` takes `color: {r, g, b, w}`.
   */
  color?: { mode: 'color_temp'; minKelvin: number; maxKelvin: number } | { mode: 'hs' } | { mode: 'rgbw' };
}

/** A Home Assistant JSON light reading `state` (and `brightness`) from the device's state. */
export interface LightCapability extends LightOptions {
  type: 'light';
  access: number;
}

/** A scene to recall: `set` with `{ "<key>": true }` (Home Assistant's scene entity sends exactly that). */
export interface SceneCapability {
  type: 'scene';
  key: string;
  access: typeof ACCESS.SET;
}

/**
 * Something that happens (a key pressed): a report naming one of `types` under `key` is one event. It
 * is published once, on the device's non-retained event topic, not kept in its retained state (there a
 * restarted Home Assistant, or the next state change of the device, would replay it). `attributes` are
 * the report's other fields that describe the event (which key, how far a knob turned): they go with
 * it, not into the state. A device has at most one: its event topic is one entity's.
 */
export interface EventCapability {
  type: 'event';
  key: string;
  types: readonly string[];
  attributes?: readonly string[];
  access: typeof ACCESS.STATE;
  name?: string;
}

/** Not an entity: `get` with no fields reads the device now (a meter read between its polls). */
export interface ReadOnDemandCapability {
  type: 'read_on_demand';
  access: typeof ACCESS.GET;
}

export type Capability =
  | NumericCapability
  | TextCapability
  | BinaryCapability
  | LightCapability
  | SceneCapability
  | EventCapability
  | ReadOnDemandCapability;

const STATE_ONLY = ACCESS.STATE;
const LIGHT_ACCESS = ACCESS.STATE | ACCESS.SET | ACCESS.GET;

export function numeric(
  key: string,
  options: ValueOptions & { min?: number; max?: number } = {},
): NumericCapability {
  return { type: 'numeric', key, ...options, access: options.access ?? STATE_ONLY };
}

/** A value without a unit that is not a number (a firmware version, a timestamp). */
export function text(key: string, options: ValueOptions = {}): TextCapability {
  return { type: 'text', key, ...options, access: options.access ?? STATE_ONLY };
}

export function binary(key: string, options: ValueOptions = {}): BinaryCapability {
  return { type: 'binary', key, ...options, access: options.access ?? STATE_ONLY };
}

export function light(options: LightOptions & { access?: number } = {}): LightCapability {
  return { type: 'light', ...options, access: options.access ?? LIGHT_ACCESS };
}

export function scene(key = 'activate'): SceneCapability {
  return { type: 'scene', key, access: ACCESS.SET };
}

export function event(
  key: string,
  types: readonly string[],
  options: { name?: string; attributes?: readonly string[] } = {},
): EventCapability {
  return { type: 'event', key, types, access: ACCESS.STATE, ...options };
}

/** A device's event capability (at most one: see EventCapability), if it has one. */
export function eventCapabilityOf(capabilities: readonly Capability[]): EventCapability | undefined {
  const events = capabilities.filter((capability) => capability.type === 'event');
  // Two would share one event topic, and Home Assistant could not tell whose event came.
  if (events.length > 1) throw new Error(`two event capabilities (${events.map((e) => e.key).join(', ')})`);
  return events[0];
}

/** An adapter's or a gateway's diagnostic `connected` entity (HA's connectivity class). */
export function connectivity(): BinaryCapability {
  return binary('connected', {
    objectId: 'connectivity',
    name: 'Connectivity',
    deviceClass: 'connectivity',
    category: 'diagnostic',
  });
}

export function readOnDemand(): ReadOnDemandCapability {
  return { type: 'read_on_demand', access: ACCESS.GET };
}

// --- capability → entity --------------------------------------------------------------------------

function defaultName(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1).replace(/_/g, ' ');
}

function valueEntity(
  component: 'sensor' | 'binary_sensor' | 'switch',
  capability: ValueCapability,
): EntityDescriptor {
  const entity: EntityDescriptor = {
    component,
    objectId: capability.objectId ?? capability.key,
    name: capability.name ?? defaultName(capability.key),
    key: capability.key,
  };
  if (capability.deviceClass !== undefined) entity.deviceClass = capability.deviceClass;
  if (capability.unit !== undefined) entity.unit = capability.unit;
  if (capability.stateClass !== undefined) entity.stateClass = capability.stateClass;
  if (capability.category !== undefined) entity.entityCategory = capability.category;
  if (capability.icon !== undefined) entity.icon = capability.icon;
  if (capability.options !== undefined) entity.options = capability.options;
  return entity;
}

/** The entity of one capability; none for a capability that is not in the state. */
function entityOf(capability: Capability): EntityDescriptor | undefined {
  if (capability.type === 'scene')
    return {
      component: 'scene',
      objectId: 'scene',
      name: 'Scene',
      key: capability.key,
      commandPayload: JSON.stringify({ [capability.key]: true }),
    };
  if (!(capability.access & ACCESS.STATE)) return undefined;
  switch (capability.type) {
    case 'light': {
      const entity: EntityDescriptor = { component: 'light', objectId: 'light', name: 'Light', key: 'state' };
      if (capability.brightness)
        entity.brightnessScale = capability.brightness.scale ?? capability.brightness.max;
      if (capability.color) {
        entity.colorMode = capability.color.mode;
        if (capability.color.mode === 'color_temp') {
          entity.minKelvin = capability.color.minKelvin;
          entity.maxKelvin = capability.color.maxKelvin;
        }
      }
      return entity;
    }
    case 'event':
      return {
        component: 'event',
        objectId: capability.key,
        name: capability.name ?? defaultName(capability.key),
        key: capability.key,
        eventTypes: capability.types,
      };
    case 'binary':
      // A commandable on/off value is a switch; its state is the device's, published after the command.
      return valueEntity(capability.access & ACCESS.SET ? 'switch' : 'binary_sensor', capability);
    case 'numeric':
    case 'text':
      return valueEntity('sensor', capability);
    case 'read_on_demand':
      return undefined;
  }
}

/** The Home Assistant entities of a device, in the order of its capabilities. */
export function entitiesOf(capabilities: readonly Capability[]): EntityDescriptor[] {
  return capabilities.flatMap((capability) => entityOf(capability) ?? []);
}

// --- capability → command schema ------------------------------------------------------------------

const LIGHT_STATE = z.enum(['ON', 'OFF']);
/** `get` asks for a field by naming it with an empty value, as zigbee2mqtt's `{"state": ""}`. */
const ASKED = z.literal('');

function brightnessField(max: number) {
  return z.number().int('must be a whole number').min(0).max(max);
}
/** Seconds. */
const TRANSITION = z.number().min(0).max(90);
/**
 * Home Assistant's JSON light sends it when asked to flash: the flash time in seconds (its
 * flash_time_short/long, 2 and 10 by default); other bridges say short/long. Accepted, not acted on.
 */
const FLASH = z.union([z.number().min(0).max(3600), z.enum(['short', 'long'])]);

type Shape = Record<string, z.ZodType>;

/** Every field a light's `set` can have; a light without brightness or transition has fewer. */
const BYTE = z.number().int('must be a whole number').min(0).max(255);
const HS_COLOR = z.strictObject({ h: z.number().min(0).max(360), s: z.number().min(0).max(100) });
const RGBW_COLOR = z.strictObject({ r: BYTE, g: BYTE, b: BYTE, w: BYTE });

const LIGHT_SET = z.strictObject({
  state: LIGHT_STATE.optional(),
  brightness: brightnessField(254).optional(),
  transition: TRANSITION.optional(),
  flash: FLASH.optional(),
  /** Kelvin (HA's JSON light with `color_temp_kelvin`). */
  color_temp: z.number().int('must be a whole number').optional(),
  color: z.union([HS_COLOR, RGBW_COLOR]).optional(),
});

/** A light's `set`, as its schema infers it. */
export type LightSet = z.output<typeof LIGHT_SET>;

function lightSetSchema(capability: LightOptions) {
  const color = capability.color;
  const dimmable = LIGHT_SET.extend({
    brightness: brightnessField(capability.brightness?.max ?? 0).optional(),
    color_temp: (color?.mode === 'color_temp'
      ? z.number().int('must be a whole number').min(color.minKelvin).max(color.maxKelvin)
      : z.number()
    ).optional(),
    color: (color?.mode === 'rgbw' ? RGBW_COLOR : HS_COLOR).optional(),
  });
  return dimmable.omit({
    ...(capability.brightness ? {} : { brightness: true }),
    ...(capability.transition ? {} : { transition: true }),
    ...(color?.mode === 'color_temp' ? {} : { color_temp: true }),
    ...(color?.mode === 'hs' || color?.mode === 'rgbw' ? {} : { color: true }),
  });
}

function lightGetShape(capability: LightOptions): Shape {
  return {
    state: ASKED.optional(),
    ...(capability.brightness ? { brightness: ASKED.optional() } : {}),
    ...(capability.color?.mode === 'color_temp' ? { color_temp: ASKED.optional() } : {}),
    ...(capability.color && capability.color.mode !== 'color_temp' ? { color: ASKED.optional() } : {}),
  };
}

function valueSetField(capability: NumericCapability | TextCapability | BinaryCapability): z.ZodType {
  switch (capability.type) {
    case 'numeric': {
      let field = z.number();
      if (capability.min !== undefined) field = field.min(capability.min);
      if (capability.max !== undefined) field = field.max(capability.max);
      return field;
    }
    case 'text':
      return z.string();
    case 'binary':
      return z.boolean();
  }
}

/** The fields one capability adds to the `set` or `get` command. */
function fieldsOf(capability: Capability, operation: 'set' | 'get'): Shape {
  const flag = operation === 'set' ? ACCESS.SET : ACCESS.GET;
  if (!(capability.access & flag)) return {};
  switch (capability.type) {
    case 'light':
      return operation === 'set' ? lightSetSchema(capability).shape : lightGetShape(capability);
    case 'scene':
      return { [capability.key]: z.literal(true).optional() };
    case 'read_on_demand':
    case 'event':
      return {};
    default:
      return { [capability.key]: (operation === 'set' ? valueSetField(capability) : ASKED).optional() };
  }
}

/**
 * The schema of a device's `set` or `get`: the fields of its capabilities with that access, each
 * optional, any other field refused. Undefined when no capability has that access: the device has no
 * such command.
 */
export function commandSchema(
  capabilities: readonly Capability[],
  operation: 'set' | 'get',
): z.ZodObject | undefined {
  const flag = operation === 'set' ? ACCESS.SET : ACCESS.GET;
  const offering = capabilities.filter((capability) => capability.access & flag);
  if (offering.length === 0) return undefined;
  const shape: Shape = {};
  for (const capability of offering) {
    for (const [field, schema] of Object.entries(fieldsOf(capability, operation))) {
      // Two capabilities commanding one field is a driver's mistake, not a user's.
      if (field in shape) throw new Error(`two capabilities declare the ${operation} field "${field}"`);
      shape[field] = schema;
    }
  }
  return z.strictObject(shape);
}

/**
 * The fields of a `set` that say where a device should be, not how to get there: those both commanded
 * and published in its state (a light's `state` and `brightness`, not its `transition` or `flash`).
 * What a lamp is restored to after a power cut.
 */
export function stateFieldsOf(capabilities: readonly Capability[]): Set<string> {
  const fields = new Set<string>();
  for (const capability of capabilities) {
    if (!(capability.access & ACCESS.SET) || !(capability.access & ACCESS.STATE)) continue;
    if (capability.type === 'light') {
      fields.add('state');
      if (capability.brightness) fields.add('brightness');
      if (capability.color?.mode === 'color_temp') fields.add('color_temp');
      else if (capability.color) fields.add('color');
    } else if (capability.type !== 'read_on_demand' && capability.type !== 'scene') {
      fields.add(capability.key);
    }
  }
  return fields;
}

// --- typed commands for runtimes ------------------------------------------------------------------

/**
 * A light's `set` arguments, checked against that light's own schema: a runtime gets them typed and
 * never casts. The bridge checked them before queuing; this guards what else reaches a runtime (a
 * state restored from the database), and a failure rejects the command.
 */
export function lightSet(capability: LightCapability, args: JsonValue): LightSet {
  const schema: z.ZodType<LightSet> = lightSetSchema(capability);
  const result = schema.safeParse(args ?? {});
  if (!result.success) throw new Error(`invalid light command: ${z.prettifyError(result.error)}`);
  return result.data;
}
