import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/index.js';

// There is no Docker engine on the build machines, so the compose file is checked statically: every
// file it mounts exists, and the fieldbridge config it mounts is valid.

const root = join(import.meta.dirname, '..');

interface ComposeFile {
  services: Record<string, { volumes?: string[]; build?: string; command?: string[] }>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as ComposeFile;

describe('docker-compose.yml', () => {
  it('has the mosquitto and fieldbridge services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['fieldbridge', 'mosquitto']);
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

  it('gives fieldbridge a valid config that points at the mosquitto service', () => {
    const mount = compose.services.fieldbridge?.volumes?.find((v) => v.includes(':/config/fieldbridge.yaml'));
    const source = mount?.split(':')[0] as string;
    const config = parseConfig(readFileSync(join(root, source), 'utf8'), {}, source);
    expect(config.mqtt.server).toBe('mqtt://mosquitto:1883');
    expect(compose.services.fieldbridge?.command).toEqual(['start', '--config', '/config/fieldbridge.yaml']);
  });
});
