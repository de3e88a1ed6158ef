import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  ANY,
  BINARY_SENSOR_DEVICE_CLASSES,
  NON_NUMERIC,
  SENSOR_DEVICE_CLASS_STATE_CLASSES,
  SENSOR_DEVICE_CLASS_UNITS,
  SWITCH_DEVICE_CLASSES,
} from './homeAssistantTables.js';

// Home Assistant's rules for what fieldbridge publishes (tables in homeAssistantTables.ts): a config's
// keys, device class, unit and state class; the state each template renders from the payload its topic
// really carries (with Jinja2 itself); what HA's sensor, binary sensor and JSON light make of it.

const STATE_CLASSES = new Set<string>(ANY);
const ENTITY_CATEGORIES = new Set(['config', 'diagnostic']);
const COLOR_MODES = new Set([
  'onoff',
  'brightness',
  'color_temp',
  'hs',
  'xy',
  'rgb',
  'rgbw',
  'rgbww',
  'white',
]);
/** The state HA's MQTT entities take from the template result "None": unknown, not an error. */
const PAYLOAD_NONE = 'None';

type Config = Record<string, unknown>;

/** One discovery config and what its topics carry (state topic → its retained payload). */
export interface PublishedEntity {
  topic: string;
  config: Config;
}

/** A template and the payload HA renders it with. */
interface TemplateJob {
  where: string;
  template: string;
  payload: string;
}

const RENDERER = join(import.meta.dirname, 'renderTemplates.py');

/** Why templates cannot be rendered here (no python3 or no Jinja2), or undefined when they can. */
export function jinjaMissing(): string | undefined {
  const probe = spawnSync('python3', ['-c', 'import jinja2'], { encoding: 'utf8' });
  if (probe.error) return `python3 is not installed (${probe.error.message})`;
  if (probe.status !== 0) return 'python3 has no jinja2 (Debian: apt-get install python3-jinja2)';
  return undefined;
}

/** Renders templates with Jinja2 as HA does (value, value_json); an undefined key is an error. */
function renderAll(jobs: readonly TemplateJob[]): ({ value: string } | { error: string })[] {
  if (jobs.length === 0) return [];
  const run = spawnSync('python3', [RENDERER], {
    input: JSON.stringify(jobs.map(({ template, payload }) => ({ template, payload }))),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`rendering templates failed: ${run.stderr || run.error?.message}`);
  return JSON.parse(run.stdout) as ({ value: string } | { error: string })[];
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

function configProblems(component: string, config: Config): string[] {
  const problems: string[] = [];
  const deviceClass = text(config.device_class);
  const unit = text(config.unit_of_measurement);
  const stateClass = text(config.state_class);
  if (config.device !== undefined && !text(config.unique_id))
    problems.push('a device block needs a unique_id');
  const device = config.device as Config | undefined;
  if (device && !Array.isArray(device.identifiers) && !Array.isArray(device.connections))
    problems.push('the device block has neither identifiers nor connections');
  if (config.entity_category !== undefined && !ENTITY_CATEGORIES.has(String(config.entity_category)))
    problems.push(`entity_category ${String(config.entity_category)} is not config or diagnostic`);
  if (
    config.expire_after !== undefined &&
    !(Number.isInteger(config.expire_after) && Number(config.expire_after) > 0)
  )
    problems.push(`expire_after ${String(config.expire_after)} is not a positive whole number`);
  switch (component) {
    case 'sensor':
      if (!text(config.state_topic)) problems.push('a sensor needs a state_topic');
      if (stateClass !== undefined && !STATE_CLASSES.has(stateClass))
        problems.push(`state_class ${stateClass} does not exist`);
      if (deviceClass === undefined) break;
      if (!(deviceClass in SENSOR_DEVICE_CLASS_STATE_CLASSES)) {
        problems.push(`device_class ${deviceClass} is not a sensor device class`);
        break;
      }
      // HA's sensor: an enum sensor needs its options and takes no state class (sensor/__init__.py).
      if (deviceClass === 'enum') {
        const options = config.options;
        if (!Array.isArray(options) || options.length === 0 || options.some((o) => typeof o !== 'string'))
          problems.push('an enum sensor needs options (a list of strings)');
        if (stateClass !== undefined) problems.push('an enum sensor has no state_class');
      } else if (config.options !== undefined) problems.push('only an enum sensor has options');
      if (NON_NUMERIC.has(deviceClass) && unit !== undefined)
        problems.push(`a ${deviceClass} sensor has no unit, not "${unit}"`);
      if (
        deviceClass in SENSOR_DEVICE_CLASS_UNITS &&
        !SENSOR_DEVICE_CLASS_UNITS[deviceClass]?.includes(unit ?? null)
      )
        problems.push(`unit ${JSON.stringify(unit ?? null)} is not one of device_class ${deviceClass}'s`);
      if (stateClass !== undefined && !SENSOR_DEVICE_CLASS_STATE_CLASSES[deviceClass]?.includes(stateClass))
        problems.push(`state_class ${stateClass} is not allowed for device_class ${deviceClass}`);
      break;
    case 'binary_sensor':
      if (!text(config.state_topic)) problems.push('a binary_sensor needs a state_topic');
      if (deviceClass !== undefined && !BINARY_SENSOR_DEVICE_CLASSES.has(deviceClass))
        problems.push(`device_class ${deviceClass} is not a binary_sensor device class`);
      for (const key of ['unit_of_measurement', 'state_class'])
        if (config[key] !== undefined) problems.push(`a binary_sensor has no ${key}`);
      break;
    case 'switch':
      if (!text(config.state_topic)) problems.push('a switch needs a state_topic');
      if (!text(config.command_topic)) problems.push('a switch needs a command_topic');
      if (deviceClass !== undefined && !SWITCH_DEVICE_CLASSES.has(deviceClass))
        problems.push(`device_class ${deviceClass} is not a switch device class`);
      for (const key of ['unit_of_measurement', 'state_class', 'expire_after'])
        if (config[key] !== undefined) problems.push(`a switch has no ${key}`);
      break;
    case 'light': {
      if (config.schema !== 'json') problems.push('fieldbridge lights are JSON-schema lights');
      if (!text(config.command_topic)) problems.push('a light needs a command_topic');
      const modes = config.supported_color_modes;
      if (!Array.isArray(modes) || modes.length === 0 || modes.some((mode) => !COLOR_MODES.has(String(mode))))
        problems.push(`supported_color_modes ${JSON.stringify(modes)} is not a list of color modes`);
      else if (modes.length > 1 && (modes.includes('onoff') || modes.includes('brightness')))
        problems.push('onoff and brightness color modes cannot be combined with others');
      for (const legacy of ['brightness', 'color_mode', 'value_template'])
        if (config[legacy] !== undefined) problems.push(`${legacy} is not part of a color-mode JSON light`);
      break;
    }
    case 'scene':
      // HA's MQTT scene: a command topic and the payload it publishes there; no state.
      if (!text(config.command_topic)) problems.push('a scene needs a command_topic');
      if (config.state_topic !== undefined) problems.push('a scene has no state_topic');
      break;
    case 'event': {
      if (!text(config.state_topic)) problems.push('an event needs a state_topic');
      const types = config.event_types;
      if (!Array.isArray(types) || types.length === 0 || types.some((type) => typeof type !== 'string'))
        problems.push(`event_types ${JSON.stringify(types)} is not a list of event types`);
      break;
    }
    default:
      problems.push(`unexpected component ${component}`);
  }
  return problems;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** How HA's MQTT sensor and binary sensor take a rendered state. */
function renderedStateProblems(component: string, config: Config, rendered: string): string[] {
  if (rendered === PAYLOAD_NONE) return [];
  if (component === 'switch') {
    const on = text(config.state_on) ?? text(config.payload_on) ?? 'ON';
    const off = text(config.state_off) ?? text(config.payload_off) ?? 'OFF';
    return rendered === on || rendered === off
      ? []
      : [`switch state "${rendered}" is neither ${on} nor ${off}`];
  }
  if (component === 'event') {
    // HA's MQTT event parses the rendered value as JSON and needs an event_type it was told of.
    let value: unknown;
    try {
      value = JSON.parse(rendered);
    } catch {
      return [`event "${rendered}" is not JSON`];
    }
    const type = (value as { event_type?: unknown } | null)?.event_type;
    const types = Array.isArray(config.event_types) ? config.event_types : [];
    return typeof type === 'string' && types.includes(type)
      ? []
      : [`event_type ${JSON.stringify(type)} is not one of event_types`];
  }
  if (component === 'binary_sensor') {
    const on = text(config.payload_on) ?? 'ON';
    const off = text(config.payload_off) ?? 'OFF';
    return rendered === on || rendered === off
      ? []
      : [`binary state "${rendered}" is neither ${on} nor ${off}`];
  }
  const deviceClass = text(config.device_class);
  if (deviceClass === 'enum') {
    const options = Array.isArray(config.options) ? config.options.map(String) : [];
    return options.includes(rendered) ? [] : [`enum state "${rendered}" is not one of its options`];
  }
  if (deviceClass === 'timestamp') {
    return ISO_WITH_ZONE.test(rendered) && !Number.isNaN(Date.parse(rendered))
      ? []
      : [`timestamp "${rendered}" is not an ISO 8601 time with a time zone`];
  }
  if (deviceClass === 'date') {
    return ISO_DATE.test(rendered) && !Number.isNaN(Date.parse(rendered))
      ? []
      : [`date "${rendered}" is not a date`];
  }
  const numeric =
    !NON_NUMERIC.has(deviceClass ?? '') &&
    (config.unit_of_measurement !== undefined || config.state_class !== undefined);
  if (numeric && (rendered.trim() === '' || !Number.isFinite(Number(rendered))))
    return [`"${rendered}" is not a number, and a sensor with a unit or state_class must be one`];
  return [];
}

/** What HA's JSON light makes of its state topic's payload: `state` always, `brightness` in range. */
function lightStateProblems(config: Config, payload: string): string[] {
  let values: unknown;
  try {
    values = JSON.parse(payload);
  } catch {
    return [`light state ${payload} is not JSON`];
  }
  if (values === null || typeof values !== 'object' || Array.isArray(values))
    return [`light state ${payload} is not a JSON object`];
  const state = values as Record<string, unknown>;
  const problems: string[] = [];
  if (!('state' in state)) problems.push('light state has no "state" key (HA errors on every message)');
  else if (state.state !== 'ON' && state.state !== 'OFF' && state.state !== null)
    problems.push(`light state "${String(state.state)}" is neither ON nor OFF`);
  const scale = typeof config.brightness_scale === 'number' ? config.brightness_scale : 255;
  if (typeof state.brightness !== 'number' || state.brightness < 0 || state.brightness > scale)
    problems.push(`light brightness ${String(state.brightness)} is not a number within 0..${scale}`);
  return problems;
}

/**
 * Every way the published entities break HA's rules, given what their topics carry (`payloads`: topic →
 * retained payload). Each problem names the discovery topic. A topic without a payload is a problem too:
 * the entity would never get a state.
 */
export function homeAssistantProblems(
  entities: readonly PublishedEntity[],
  payloads: ReadonlyMap<string, string>,
  /** The topics of `payloads` whose messages are not retained (events). */
  notRetained: ReadonlySet<string> = new Set(),
): string[] {
  const problems: string[] = [];
  const jobs: (TemplateJob & { check?: (rendered: string) => string[] })[] = [];
  for (const { topic, config } of entities) {
    const component = topic.split('/').at(-4) ?? '';
    const say = (problem: string) => problems.push(`${topic}: ${problem}`);
    configProblems(component, config).forEach(say);
    const stateTopic = text(config.state_topic);
    const payload = stateTopic === undefined ? undefined : payloads.get(stateTopic);
    if (stateTopic !== undefined && payload === undefined) say(`nothing is published on ${stateTopic}`);
    if (payload !== undefined && component === 'light') lightStateProblems(config, payload).forEach(say);
    if (stateTopic !== undefined && payload !== undefined) {
      // HA fires an event on every message of its topic: a retained one again after each HA restart.
      const retained = !notRetained.has(stateTopic);
      if (component === 'event' && retained) say(`events on ${stateTopic} are retained`);
      if (component !== 'event' && !retained) say(`the state on ${stateTopic} is not retained`);
    }
    // Without a template HA takes the payload as it is.
    if (payload !== undefined && component === 'event' && config.value_template === undefined)
      renderedStateProblems(component, config, payload).forEach(say);
    for (const [key, template] of Object.entries(config)) {
      if (!key.endsWith('_template') || typeof template !== 'string' || payload === undefined) continue;
      jobs.push({
        where: `${topic}: ${key}`,
        template,
        payload,
        ...(key === 'value_template'
          ? { check: (rendered) => renderedStateProblems(component, config, rendered) }
          : {}),
      });
    }
    const availability = Array.isArray(config.availability) ? (config.availability as Config[]) : [];
    for (const entry of availability) {
      const availabilityTopic = text(entry.topic);
      const availabilityPayload = availabilityTopic && payloads.get(availabilityTopic);
      if (!availabilityTopic || availabilityPayload === undefined || availabilityPayload === '') {
        say(`nothing is published on availability topic ${String(availabilityTopic)}`);
        continue;
      }
      const template = text(entry.value_template);
      const available = text(entry.payload_available) ?? 'online';
      const unavailable = text(entry.payload_not_available) ?? 'offline';
      const check = (rendered: string) =>
        rendered === available || rendered === unavailable
          ? []
          : [`availability "${rendered}" is neither ${available} nor ${unavailable}`];
      if (template === undefined) check(availabilityPayload).forEach(say);
      else
        jobs.push({
          where: `${topic}: availability ${availabilityTopic}`,
          template,
          payload: availabilityPayload,
          check,
        });
    }
  }
  const results = renderAll(jobs);
  jobs.forEach((job, index) => {
    const result = results[index];
    if (result === undefined || 'error' in result) {
      problems.push(`${job.where}: ${result?.error ?? 'not rendered'} (state ${job.payload})`);
      return;
    }
    for (const problem of job.check?.(result.value) ?? []) problems.push(`${job.where}: ${problem}`);
  });
  return problems;
}
