import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { fieldsOf } from '../src/drivers/contract.js';
import { DRIVER_MODULES, DRIVER_NAMES, driverNamed } from '../src/drivers/registry.js';

// Every driver's config part, through the same invariants: config/ only iterates the registry, so what
// holds here holds for the next driver too.

describe.each(DRIVER_MODULES.map((driver) => [driver.name, driver] as const))(
  'driver %s config',
  (name, driver) => {
    it('parses its devices under its name, with the default transport and its bus rule', () => {
      const device = driver.config.device.parse({ id: 'd', driver: name, transport: 'simulated' });
      expect(device.driver).toBe(name);
      const [configured] = parseConfig(
        `devices: [{ id: d, driver: ${name}, transport: simulated }]`,
        {},
      ).devices;
      expect(configured?.bus).toBe(driver.config.busOf(fieldsOf(device)));
    });

    it('counts a device without transport as on its default transport', () => {
      const problems = (transport: string) => {
        const devices = `[{ id: a, driver: ${name}, bus: b }, { id: c, driver: ${name}, bus: b, transport: ${transport} }]`;
        try {
          parseConfig(`devices: ${devices}`, {});
          return '';
        } catch (error) {
          return String(error);
        }
      };
      expect(problems(driver.config.defaultTransport)).not.toMatch(/cannot mix/);
      if (driver.config.defaultTransport !== 'simulated') expect(problems('simulated')).toMatch(/cannot mix/);
    });

    it('reads the same bus from a half-validated tree as from a parsed device', () => {
      const bus = driver.config.busOf(fieldsOf({ driver: name, transport: 'simulated' }));
      // A bus override for that bus is known to the cross-section rules (they read the unparsed tree).
      expect(() =>
        parseConfig(
          `supervisor: { buses: { "${bus}": { max_restarts: 3 } } }\ndevices: [{ id: d, driver: ${name}, transport: simulated }]`,
          {},
        ),
      ).not.toThrow();
    });

    it('has its line section, if any, under its name, empty by default', () => {
      const config: Record<string, unknown> = parseConfig('', {});
      if (driver.config.lines) expect(config[name]).toEqual([]);
      else expect(config).not.toHaveProperty(name);
    });
  },
);

describe('the registry in config', () => {
  it('names the drivers in registry order and finds them by an unvalidated name', () => {
    expect(DRIVER_NAMES).toEqual(DRIVER_MODULES.map((driver) => driver.name));
    expect(driverNamed('ble')?.name).toBe('ble');
    expect(driverNamed('zigbee')).toBeUndefined();
    expect(driverNamed(42)).toBeUndefined();
  });

  it('prints the line sections between the gateway sections and devices, in registry order', () => {
    const keys = Object.keys(parseConfig('', {}));
    const lineKeys = DRIVER_MODULES.filter((driver) => driver.config.lines).map((driver) => driver.name);
    expect(keys.slice(keys.indexOf('device_defaults') + 1)).toEqual([...lineKeys, 'devices']);
  });
});
