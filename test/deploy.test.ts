import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/index.js';

// There is no Docker engine on the build machines, so the compose file is checked statically: every
// file it mounts exists, and the fieldbridge config it mounts is valid.

const root = join(import.meta.dirname, '..');

interface ComposeService {
  volumes?: string[];
  build?: string;
  command?: string[];
  restart?: string;
  healthcheck?: { test: string[] };
  devices?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as ComposeFile;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const hardware = parse(readFileSync(join(root, 'deploy/compose.hardware.yaml'), 'utf8')) as ComposeFile;

describe('docker-compose.yml', () => {
  it('has mosquitto, Home Assistant and fieldbridge, each restarted and health-checked', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['fieldbridge', 'homeassistant', 'mosquitto']);
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, name).toBe('unless-stopped');
    }
    expect(compose.services.mosquitto?.healthcheck?.test.join(' ')).toContain('mosquitto_sub');
    expect(compose.services.fieldbridge?.depends_on?.mosquitto?.condition).toBe('service_healthy');
    // fieldbridge's own health check is the image's HEALTHCHECK (see below).
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(compose.services.fieldbridge?.build).toBe('.');
    expect(existsSync(join(root, 'Dockerfile'))).toBe(true);
  });

  it('mounts only files that exist and volumes that are declared', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (source.startsWith('./')) expect(existsSync(join(root, source)), `${name}: ${source}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name}: volume ${source}`).toContain(source);
      }
    }
  });

  it('passes the hardware through in deploy/compose.hardware.yaml (serial, hidraw, the system D-Bus)', () => {
    const fieldbridge = hardware.services.fieldbridge;
    expect(fieldbridge?.devices).toEqual(['/dev/ttyUSB0:/dev/ttyUSB0', '/dev/hidraw0:/dev/hidraw0']);
    expect(fieldbridge?.volumes).toEqual(['/run/dbus:/run/dbus:ro']);
  });

  /** The fieldbridge service's config directory mount: `./deploy/config:/config:ro`. */
  const configMount = () => {
    const mount = compose.services.fieldbridge?.volumes?.find((v) => v.split(':')[1] === '/config');
    expect(mount, 'a volume mounted at /config').toBeDefined();
    return join(root, (mount as string).split(':')[0] as string);
  };
  const composeConfig = () =>
    parseConfig(
      readFileSync(join(configMount(), 'fieldbridge.yaml'), 'utf8'),
      { FIELDBRIDGE_HTTP_TOKEN: 'a-token-from-env', FIELDBRIDGE_MQTT_PASSWORD: 'an-mqtt-password' },
      'deploy/config/fieldbridge.yaml',
    );

  it('gives fieldbridge a valid config that points at the mosquitto service', () => {
    expect(composeConfig().mqtt.server).toBe('mqtt://mosquitto:1883');
    expect(composeConfig().mqtt).toMatchObject({ user: 'fieldbridge', password: 'an-mqtt-password' });
    expect(compose.services.fieldbridge?.command).toEqual(['start', '--config', '/config/fieldbridge.yaml']);
  });

  it("mounts the config's directory, not the file, so live reload sees an editor's save", () => {
    // An editor saves by renaming a new file over the old one; a single-file bind mount keeps showing
    // the old inode, so the gateway (which watches the file's directory) would never see the change.
    expect(statSync(configMount()).isDirectory()).toBe(true);
    for (const volume of compose.services.fieldbridge?.volumes ?? []) {
      const source = volume.split(':')[0] as string;
      if (source.startsWith('./')) expect(statSync(join(root, source)).isDirectory(), volume).toBe(true);
    }
    // The command and the image's default read the config from inside that directory.
    expect(dockerfile).toContain('CMD ["start", "--config", "/config/fieldbridge.yaml"]');
  });

  it('publishes the status page and /metrics to the host, with the token from the environment', () => {
    const config = composeConfig();
    // Docker forwards a published port to the container's own address, not to its loopback.
    expect(config.http.host).toBe('0.0.0.0');
    expect(compose.services.fieldbridge?.ports).toContain(`${config.http.port}:${config.http.port}`);
    expect(config.http.token).toBe('a-token-from-env');
    // Compose refuses to start without a token rather than publishing an open server.
    expect(compose.services.fieldbridge?.environment?.FIELDBRIDGE_HTTP_TOKEN).toMatch(
      /^\$\{FIELDBRIDGE_HTTP_TOKEN:\?.+\}$/,
    );
    expect(readFileSync(join(root, '.gitignore'), 'utf8').split('\n')).toContain('.env');
  });

  it('publishes Mosquitto on the host loopback only, with logins and an ACL (test/deploy-mosquitto.test.ts runs it)', () => {
    const mosquitto = compose.services.mosquitto;
    expect(mosquitto?.ports).toEqual(['127.0.0.1:1883:1883']);
    expect(mosquitto?.volumes).toContain('./deploy/mosquitto:/mosquitto/config:ro');
    const conf = readFileSync(join(root, 'deploy/mosquitto/mosquitto.conf'), 'utf8').split('\n');
    expect(conf).toEqual(
      expect.arrayContaining([
        'allow_anonymous false',
        'password_file /mosquitto/data/passwords',
        'acl_file /mosquitto/config/acl',
      ]),
    );
    // The passwords come from the environment (.env); Compose refuses to start without them.
    for (const [service, names] of [
      ['mosquitto', ['FIELDBRIDGE_MQTT_PASSWORD', 'HA_MQTT_PASSWORD']],
      ['fieldbridge', ['FIELDBRIDGE_MQTT_PASSWORD']],
    ] as const) {
      for (const name of names) {
        expect(compose.services[service]?.environment?.[name], `${service} ${name}`).toMatch(
          new RegExp(`^\\$\\{${name}:\\?.+\\}$`),
        );
      }
    }
  });

  it('health-checks the port and token of the config, not a hard-coded one', () => {
    const healthcheck = dockerfile.match(/^HEALTHCHECK [^\n]*\\\n\s*CMD (.*)$/m)?.[1];
    expect(JSON.parse(healthcheck as string)).toEqual([
      'node',
      '/app/dist/cli.js',
      'health',
      '--config',
      '/config/fieldbridge.yaml',
    ]);
    // (test/cli-health.test.ts: `fieldbridge health` asks the configured port with the token.)
    expect(dockerfile).not.toMatch(/HEALTHCHECK[\s\S]*:\d+\/health/);
  });
});

describe('systemd and udev files', () => {
  const unit = readFileSync(join(root, 'deploy/fieldbridge.service'), 'utf8');
  const setting = (key: string) => unit.match(new RegExp(`^${key}=(.*)$`, 'm'))?.[1];

  it('restarts, watches and bounds the service', () => {
    expect(setting('Type')).toBe('notify');
    expect(setting('NotifyAccess')).toBe('all');
    expect(setting('Restart')).toBe('always');
    expect(setting('RestartSec')).toBe('10');
    expect(setting('WatchdogSec')).toBe('120');
    expect(setting('MemoryMax')).toBe('256M');
    expect(setting('CPUQuota')).toBe('50%');
    expect(setting('StartLimitIntervalSec')).toBe('300');
    expect(setting('StartLimitBurst')).toBe('5');
    expect(setting('User')).toBe('fieldbridge');
    expect(setting('SupplementaryGroups')).toBe('dialout plugdev');
  });

  it('hardens without hiding serial ports, hidraw or the system bus', () => {
    expect(setting('PrivateDevices')).toBeUndefined();
    expect(unit).toContain('DeviceAllow=char-ttyUSB rw');
    expect(unit).toContain('DeviceAllow=char-hidraw rw');
    expect(setting('RestrictAddressFamilies')).toContain('AF_UNIX');
    expect(setting('NoNewPrivileges')).toBe('true');
    // A non-root user without capabilities (README: Security).
    expect(setting('CapabilityBoundingSet')).toBe('');
    expect(setting('AmbientCapabilities')).toBe('');
    expect(setting('RestrictSUIDSGID')).toBe('true');
    expect(setting('ProtectProc')).toBe('invisible');
    expect(setting('UMask')).toBe('0027');
  });

  it('has a udev rule for the hasseb adapter', () => {
    const rule = readFileSync(join(root, 'deploy/99-hasseb-dali.rules'), 'utf8');
    expect(rule).toMatch(/SUBSYSTEM=="hidraw", ATTRS\{idVendor\}=="04cc", ATTRS\{idProduct\}=="0802"/);
  });
});
