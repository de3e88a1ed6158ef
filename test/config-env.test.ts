import { describe, expect, it } from 'vitest';
import { problemsOf } from './helpers/config.js';
import { parseConfig } from '../src/config/index.js';

describe('environment substitution', () => {
  it('replaces ${NAME} with the variable', () => {
    const config = parseConfig('mqtt:\n  user: ${MQTT_USER}\n  password: ${MQTT_PASSWORD}\n', {
      MQTT_USER: 'gateway',
      MQTT_PASSWORD: 's3cret',
    });
    expect(config.mqtt.user).toBe('gateway');
    expect(config.mqtt.password).toBe('s3cret');
  });

  it('replaces references inside longer strings, several per string', () => {
    const config = parseConfig('mqtt:\n  server: mqtt://${HOST}:${PORT}\n', { HOST: 'broker', PORT: '1884' });
    expect(config.mqtt.server).toBe('mqtt://broker:1884');
  });

  it('uses the fallback of ${NAME:-fallback} when the variable is unset or empty', () => {
    const yaml = 'mqtt:\n  server: ${MQTT_URL:-mqtt://localhost:1883}\n';
    expect(parseConfig(yaml, {}).mqtt.server).toBe('mqtt://localhost:1883');
    expect(parseConfig(yaml, { MQTT_URL: '' }).mqtt.server).toBe('mqtt://localhost:1883');
    expect(parseConfig(yaml, { MQTT_URL: 'mqtt://other' }).mqtt.server).toBe('mqtt://other');
  });

  it('allows an empty fallback', () => {
    expect(parseConfig('mqtt:\n  password: ${MQTT_PASSWORD:-}\n', {}).mqtt.password).toBe('');
  });

  it('substitutes an empty but set variable without a fallback', () => {
    expect(parseConfig('mqtt:\n  password: ${MQTT_PASSWORD}\n', { MQTT_PASSWORD: '' }).mqtt.password).toBe(
      '',
    );
  });

  it('reports a missing variable at the path of the value', () => {
    expect(problemsOf('mqtt:\n  password: ${MQTT_PASSWORD}\n', {})).toEqual([
      'mqtt.password: environment variable MQTT_PASSWORD is not set',
    ]);
  });

  it('reports missing variables inside lists and devices, and only once per value', () => {
    const yaml =
      'mqtt:\n  server: ${MQTT_URL}\ndevices:\n  - id: t\n    driver: ble\n    bind_key: ${BIND_KEY}\n';
    // An unset server would also fail the URL check; only the cause is reported.
    expect(problemsOf(yaml, {})).toEqual([
      'mqtt.server: environment variable MQTT_URL is not set',
      'devices[0].bind_key: environment variable BIND_KEY is not set',
    ]);
  });

  it('turns $${ into a literal ${', () => {
    const config = parseConfig('mqtt:\n  password: "p$${NOT_A_VAR}x"\n', {});
    expect(config.mqtt.password).toBe('p${NOT_A_VAR}x');
  });

  it('leaves a lone $ alone', () => {
    expect(parseConfig('mqtt:\n  password: "a$b$$c"\n', {}).mqtt.password).toBe('a$b$$c');
  });

  it('rejects malformed references', () => {
    expect(problemsOf('mqtt:\n  user: "${NOT VALID}"\n  client_id: "abc${UNCLOSED"\n', {})).toEqual([
      'mqtt.user: invalid environment reference "${NOT VALID}" (use ${NAME} or ${NAME:-fallback}, or $${ for a literal ${)',
      'mqtt.client_id: unclosed "${" (use ${NAME} or ${NAME:-fallback}, or $${ for a literal ${)',
    ]);
  });

  it('substitutes string values only, not keys', () => {
    const config = parseConfig('logging:\n  namespaces:\n    ${NS}: debug\n', {});
    expect(config.logging.namespaces).toEqual({ '${NS}': 'debug' });
  });

  it('gives a numeric field the number a variable holds (ports in Docker: port: ${HTTP_PORT})', () => {
    const yaml =
      'http:\n  port: ${HTTP_PORT}\n  enabled: ${HTTP_ENABLED}\n' +
      'mqtt:\n  embedded_port: "${MQTT_PORT:-1884}"\n  protocol_version: ${MQTT_VERSION}\n' +
      'health:\n  interval_ms: ${HEALTH_MS}\n' +
      'devices:\n  - id: heat\n    driver: mbus\n    port: /dev/ttyUSB0\n    baud: ${BAUD}\n';
    const config = parseConfig(yaml, {
      HTTP_PORT: '9000',
      HTTP_ENABLED: 'false',
      MQTT_VERSION: '5',
      HEALTH_MS: ' 15000 ',
      BAUD: '9600',
    });
    expect(config.http).toMatchObject({ port: 9000, enabled: false });
    expect(config.mqtt).toMatchObject({ embedded_port: 1884, protocol_version: 5 });
    expect(config.health.interval_ms).toBe(15_000);
    expect(config.devices[0]).toMatchObject({ baud: 9600 });
  });

  it('gives an M-Bus address the primary number a variable holds, and keeps a secondary address text', () => {
    const yaml = 'devices:\n  - id: m\n    driver: mbus\n    port: /dev/ttyUSB0\n    address: ${ADDRESS}\n';
    expect(parseConfig(yaml, { ADDRESS: '5' }).devices[0]).toMatchObject({ address: 5 });
    expect(parseConfig(yaml, { ADDRESS: '1234567812345678' }).devices[0]).toMatchObject({
      address: '1234567812345678',
    });
    expect(problemsOf(yaml, { ADDRESS: '251' })).toEqual([
      'devices[0].address: must be a primary address 0..250 or a secondary address of 16 hexadecimal ' +
        'digits written as a quoted string (got "251")',
    ]);
  });

  it('does not make a number of a variable where a string is checked otherwise', () => {
    expect(problemsOf('mqtt:\n  server: ${URL}\n', { URL: '1883' })).toEqual([
      'mqtt.server: must be a URL starting with mqtt://, mqtts://, ws:// or wss:// (e.g. mqtt://localhost:1883)',
    ]);
  });

  it('keeps a variable in a string field a string, even when it looks like a number', () => {
    const config = parseConfig('mqtt:\n  password: ${PW}\n  client_id: ${ID}\n', { PW: '1234', ID: '7' });
    expect(config.mqtt).toMatchObject({ password: '1234', client_id: '7' });
  });

  it('refuses a variable that is not a number where a number belongs, and checks the number it is', () => {
    expect(problemsOf('http:\n  port: ${PORT}\n', { PORT: 'abc' })).toEqual([
      'http.port: expected a number, got the string "abc"',
    ]);
    expect(problemsOf('http:\n  port: ${PORT}\n', { PORT: '0x50' })).toEqual([
      'http.port: expected a number, got the string "0x50"',
    ]);
    expect(problemsOf('http:\n  port: ${PORT}\n', { PORT: '70000' })).toEqual([
      'http.port: must be <= 65535 (got 70000)',
    ]);
    expect(problemsOf('health:\n  interval_ms: ${MS}\n', { MS: '0' })).toEqual([
      'health.interval_ms: must be >= 100 (got 0)',
    ]);
    expect(problemsOf('http:\n  enabled: ${ON}\n', { ON: 'yes' })).toEqual([
      'http.enabled: expected true or false, got the string "yes"',
    ]);
  });

  it('does not turn a quoted number written in the file into a number', () => {
    expect(problemsOf('http:\n  port: "9000"\n')).toEqual([
      'http.port: expected a number, got the string "9000"',
    ]);
  });

  it('reports missing variables together with other problems', () => {
    expect(problemsOf('mqtt:\n  password: ${PW}\nhttp:\n  port: 0\n', {})).toEqual([
      'mqtt.password: environment variable PW is not set',
      'http.port: must be >= 1 (got 0)',
    ]);
  });

  it('does not read process.env', () => {
    process.env.FIELDBRIDGE_TEST_ONLY_VARIABLE = 'from-process';
    try {
      expect(problemsOf('mqtt:\n  user: ${FIELDBRIDGE_TEST_ONLY_VARIABLE}\n', {})).toEqual([
        'mqtt.user: environment variable FIELDBRIDGE_TEST_ONLY_VARIABLE is not set',
      ]);
    } finally {
      delete process.env.FIELDBRIDGE_TEST_ONLY_VARIABLE;
    }
  });
});
