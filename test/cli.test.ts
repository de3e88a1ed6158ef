import { demoConfig } from '../src/config/demo.js';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { CliDependencies } from '../src/cli/io.js';
import { runCli } from '../src/cli/run.js';
import { type FieldbridgeConfig, parseConfig } from '../src/config/index.js';
import { freePort } from './helpers/mosquitto.js';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  gatewayCalls: { config: FieldbridgeConfig; configSource: string; inspectPort?: number }[];
}

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'fieldbridge-cli-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Runs the CLI in-process with captured output and a fake gateway that exits with `gatewayExitCode`. */
async function run(
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string; gatewayExitCode?: number } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const gatewayCalls: CliRun['gatewayCalls'] = [];
  const dependencies: CliDependencies = {
    runGateway: async (config, { configSource, inspectPort }) => {
      gatewayCalls.push({ config, configSource, ...(inspectPort === undefined ? {} : { inspectPort }) });
      return options.gatewayExitCode ?? 0;
    },
  };
  const io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    cwd: options.cwd ?? directory,
  };
  const code = await runCli(argv, io, dependencies);
  return { code, stdout, stderr, gatewayCalls };
}

async function writeConfig(name: string, text: string): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, text);
  return path;
}

const SECRET_CONFIG = `mqtt:
  server: mqtt://gateway:url-secret@broker:1883
  password: \${MQTT_PASSWORD}
http:
  token: http-secret
devices:
  - { id: heat1, driver: mbus, port: /dev/ttyUSB0 }
  - { id: heat2, driver: mbus, port: /dev/ttyUSB0, address: 2 }
  - { id: thermo, driver: ble, transport: simulated, bind_key: 00112233445566778899aabbccddeeff }
`;

describe('check-config', () => {
  it('prints the effective config with secrets masked and a summary, exit 0', async () => {
    const path = await writeConfig('secret.yaml', SECRET_CONFIG);
    const result = await run(['check-config', '--config', path], { env: { MQTT_PASSWORD: 'env-secret' } });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('config OK: 3 devices on 2 buses\n');
    expect(result.stdout).toContain('password: "***"');
    expect(result.stdout).toContain('token: "***"');
    expect(result.stdout).toContain('bind_key: "***"');
    expect(result.stdout).toContain('mqtt://gateway:***@broker:1883');
    for (const secret of ['env-secret', 'url-secret', 'http-secret', '00112233445566778899aabbccddeeff']) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });

  it('prints YAML that holds every default and parses back to the same config', async () => {
    const path = await writeConfig(
      'plain.yaml',
      'devices:\n  - { id: lamp, driver: dali, transport: simulated }\n',
    );
    const result = await run(['check-config', '-c', path]);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      `# Effective configuration (source: ${path}; defaults filled in, secrets masked)`,
    );
    const printed: unknown = parse(result.stdout);
    expect(printed).toMatchObject({
      persistence: { retention_days: 30 },
      devices: [{ bus: 'dali:simulated' }],
    });
    expect(parseConfig(result.stdout, {})).toEqual(parseConfig(await readFile(path, 'utf8'), {}));
    expect(result.stderr).toBe('config OK: 1 device on 1 bus\n');
  });

  it('prints every problem as "path: message" on stderr, exit 2', async () => {
    const path = await writeConfig(
      'bad.yaml',
      'mqtt:\n  servr: x\n  password: ${MQTT_PASSWORD}\ndevices:\n  - { id: a, driver: mbsu }\n  - { id: a, driver: dali }\n',
    );
    const result = await run(['check-config', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      'mqtt.password: environment variable MQTT_PASSWORD is not set',
      'mqtt.servr: unknown key (did you mean "server"?)',
      'devices[0].driver: unknown driver "mbsu" (expected mbus, dali, ble, dalicenter, renogy or simulated)',
      'devices[1].id: duplicate id "a" (first used by devices[0])',
      `fieldbridge: 4 problems in the configuration ${path}`,
      '',
    ]);
  });

  it('refuses an HTTP server beyond loopback without http.token, in check-config and start (exit 2)', async () => {
    const path = await writeConfig('open-http.yaml', 'http: { host: 0.0.0.0, port: 8181 }\n');
    const problem =
      'http.host: 0.0.0.0 is beyond loopback, so other machines could read /state and restart devices: set http.token';
    for (const command of ['check-config', 'start']) {
      const result = await run([command, '--config', path]);
      expect(result.code, command).toBe(2);
      expect(result.stderr, command).toContain(problem);
      expect(result.gatewayCalls).toEqual([]);
    }
    const withToken = await writeConfig('token-http.yaml', 'http: { host: 0.0.0.0, token: t0k }\n');
    expect((await run(['check-config', '--config', withToken])).code).toBe(0);
    const loopback = await writeConfig('loopback-http.yaml', 'http: { host: localhost }\n');
    expect((await run(['check-config', '--config', loopback])).code).toBe(0);
  });

  it('reports YAML syntax errors with file, line and column', async () => {
    const path = await writeConfig('syntax.yaml', 'mqtt:\n  server: a: b\n');
    const result = await run(['check-config', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${path}:2:11: `);
  });

  it('never prints a secret from an invalid config either', async () => {
    const path = await writeConfig(
      'bad-secret.yaml',
      'mqtt:\n  password: 98765\n  server: "http://u:pw-secret@h"\n',
    );
    const result = await run(['check-config', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toContain('98765');
    expect(result.stderr).not.toContain('pw-secret');
  });

  it('resolves a relative --config against the working directory', async () => {
    await writeConfig('relative.yaml', 'http: { port: 9999 }\n');
    const result = await run(['check-config', '--config', 'relative.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('port: 9999');
  });

  it('fails when an explicitly named file is missing', async () => {
    const result = await run(['check-config', '--config', 'nope.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `${join(directory, 'nope.yaml')}: cannot read config file: file not found`,
    );
  });

  it('uses the demo when ./fieldbridge.yaml does not exist, and says so', async () => {
    const empty = await mkdtemp(join(directory, 'empty-'));
    const env = { FIELDBRIDGE_MQTT_PORT: String(await freePort()) };
    const result = await run(['check-config'], { cwd: empty, env });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `fieldbridge: no config file found at ${join(empty, 'fieldbridge.yaml')}\n`,
    );
    expect(result.stderr).toContain('running the demo');
    expect(result.stderr).toContain('config OK: 7 devices on 6 buses\n');
  });

  it('reads ./fieldbridge.yaml by default', async () => {
    const cwd = await mkdtemp(join(directory, 'cwd-'));
    await writeFile(join(cwd, 'fieldbridge.yaml'), 'health: { interval_ms: 1234 }\n');
    const result = await run(['check-config'], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('interval_ms: 1234');
  });
});

describe('start', () => {
  it('runs the gateway with the loaded config and returns its exit code', async () => {
    const path = await writeConfig('start.yaml', 'http: { port: 8181 }\n');
    const result = await run(['start', '--config', path], { gatewayExitCode: 3 });
    expect(result.code).toBe(3);
    expect(result.gatewayCalls).toHaveLength(1);
    expect(result.gatewayCalls[0]?.configSource).toBe(path);
    expect(result.gatewayCalls[0]?.config.http.port).toBe(8181);
  });

  it('starts the demo and says where to look when ./fieldbridge.yaml is missing', async () => {
    const empty = await mkdtemp(join(directory, 'start-empty-'));
    const port = await freePort();
    const result = await run(['start'], { cwd: empty, env: { FIELDBRIDGE_MQTT_PORT: String(port) } });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`an embedded MQTT broker on mqtt://127.0.0.1:${port}`);
    const config = demoConfig({ broker: { kind: 'embedded', port }, available: [] });
    expect(result.gatewayCalls).toEqual([{ config, configSource: '(demo)' }]);
  });

  it('passes --inspect on with its port, and refuses a bad one', async () => {
    const path = await writeConfig('inspect.yaml', '');
    expect((await run(['start', '--config', path, '--inspect'])).gatewayCalls[0]?.inspectPort).toBe(4242);
    const custom = await run(['start', '--config', path, '--inspect', '--inspect-port', '5000']);
    expect(custom.gatewayCalls[0]?.inspectPort).toBe(5000);
    const bad = await run(['start', '--config', path, '--inspect', '--inspect-port', 'x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--inspect-port must be a port number 1-65535, got "x"');
    expect((await run(['start', '--config', path, '--inspect-port', '5000'])).stderr).toContain(
      '--inspect-port goes with --inspect',
    );
  });

  it('does not start when an explicitly named file is missing (exit 2)', async () => {
    const result = await run(['start', '--config', join(directory, 'absent.yaml')]);
    expect(result.code).toBe(2);
    expect(result.gatewayCalls).toEqual([]);
    expect(result.stderr).toContain('absent.yaml: cannot read config file: file not found');
  });

  it('does not start with an invalid config and prints every problem (exit 2)', async () => {
    const path = await writeConfig('start-bad.yaml', 'http: { port: 0 }\nhealth: { interval_ms: -1 }\n');
    const result = await run(['start', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.gatewayCalls).toEqual([]);
    expect(result.stderr.split('\n').slice(0, 2)).toEqual([
      'health.interval_ms: must be >= 100 (got -1)',
      'http.port: must be >= 1 (got 0)',
    ]);
  });

  it('reports a gateway crash as exit 1', async () => {
    const path = await writeConfig('crash.yaml', '');
    let stderr = '';
    const code = await runCli(
      ['start', '--config', path],
      {
        stdout: { write: () => true },
        stderr: { write: (text: string) => (stderr += text) },
        env: {},
        cwd: directory,
      },
      {
        runGateway: async () => {
          throw new Error('boom');
        },
      },
    );
    expect(code).toBe(1);
    expect(stderr).toContain('fieldbridge: unexpected error: Error: boom');
  });
});

describe('version and help', () => {
  it('prints the version from package.json for --version and -V', async () => {
    const packageJson: unknown = JSON.parse(
      await readFile(new URL('../package.json', import.meta.url), 'utf8'),
    );
    const { version } = packageJson as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await run([flag]);
      expect(result).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('prints the overview for --help, -h and help', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const result = await run(argv);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage: fieldbridge <command> [options]');
      expect(result.stdout).toMatch(/^ {2}start +Run the gateway$/m);
      expect(result.stdout).toMatch(/^ {2}check-config +Validate the configuration/m);
      expect(result.stdout).toContain('-V, --version');
    }
  });

  it.each(['start', 'check-config', 'help'])(
    'prints the usage of %s for --help, -h and help <command>',
    async (name) => {
      for (const argv of [
        [name, '--help'],
        [name, '-h'],
        ['help', name],
      ]) {
        const result = await run(argv);
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(new RegExp(`^Usage: fieldbridge ${name}`));
        expect(result.gatewayCalls).toEqual([]);
      }
    },
  );

  it('documents --config for the commands that read a config', async () => {
    for (const name of ['start', 'check-config']) {
      expect((await run([name, '--help'])).stdout).toContain('-c, --config FILE');
    }
  });

  it('prints the overview on stderr with exit 2 when no command is given', async () => {
    const result = await run([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Usage: fieldbridge <command> [options]');
  });
});

describe('usage errors', () => {
  it('rejects an unknown command, naming it and pointing to --help', async () => {
    const result = await run(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'fieldbridge: unknown command "frobnicate"\nRun "fieldbridge --help" for usage.\n',
    );
  });

  it('suggests the command that was probably meant', async () => {
    const result = await run(['check-conifg']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "check-conifg" (did you mean "check-config"?)');
  });

  it('rejects an unknown global option', async () => {
    const result = await run(['--verbose']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'fieldbridge: unknown option --verbose\nRun "fieldbridge --help" for usage.\n',
    );
  });

  it.each(['start', 'check-config'])('%s rejects an unknown option, naming it', async (name) => {
    const result = await run([name, '--confg', 'x.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `fieldbridge ${name}: unknown option --confg\nRun "fieldbridge ${name} --help" for usage.\n`,
    );
    expect(result.gatewayCalls).toEqual([]);
  });

  it('rejects stray arguments and a missing option value', async () => {
    const stray = await run(['check-config', 'extra']);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('fieldbridge check-config: unexpected argument "extra"');
    const missing = await run(['start', '--config']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('fieldbridge start: option -c, --config needs a value');
    expect(missing.gatewayCalls).toEqual([]);
  });

  it('rejects help for an unknown command', async () => {
    const result = await run(['help', 'nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('fieldbridge help: unknown command "nope"');
  });
});
