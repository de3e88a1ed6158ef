import { existsSync, readFileSync } from 'node:fs';
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
  depends_on?: Record<string, { condition: string }>;
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as ComposeFile;
const hardware = parse(readFileSync(join(root, 'deploy/compose.hardware.yaml'), 'utf8')) as ComposeFile;

describe('docker-compose.yml', () => {
  it('has mosquitto, Home Assistant and fieldbridge, each restarted and health-checked', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['fieldbridge', 'homeassistant', 'mosquitto']);
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, name).toBe('unless-stopped');
    }
    expect(compose.services.mosquitto?.healthcheck?.test.join(' ')).toContain('mosquitto_sub');
    expect(compose.services.fieldbridge?.depends_on?.mosquitto?.condition).toBe('service_healthy');
    // fieldbridge's own health check is the image's HEALTHCHECK on GET /health.
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/HEALTHCHECK[\s\S]*127\.0\.0\.1:8080\/health/);
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

  it('gives fieldbridge a valid config that points at the mosquitto service', () => {
    const mount = compose.services.fieldbridge?.volumes?.find((v) => v.includes(':/config/fieldbridge.yaml'));
    const source = mount?.split(':')[0] as string;
    const config = parseConfig(readFileSync(join(root, source), 'utf8'), {}, source);
    expect(config.mqtt.server).toBe('mqtt://mosquitto:1883');
    expect(compose.services.fieldbridge?.command).toEqual(['start', '--config', '/config/fieldbridge.yaml']);
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
  });

  it('has a udev rule for the hasseb adapter', () => {
    const rule = readFileSync(join(root, 'deploy/99-hasseb-dali.rules'), 'utf8');
    expect(rule).toMatch(/SUBSYSTEM=="hidraw", ATTRS\{idVendor\}=="04cc", ATTRS\{idProduct\}=="0802"/);
  });
});
