import { afterEach, describe, expect, it } from 'vitest';
import { type DeviceConfig, parseConfig } from '../src/config/index.js';
import { BusLinkDown } from '../src/drivers/contract.js';
import { openSimulatedDaliCenterBus } from '../src/drivers/dalicenter/simulatedBus.js';
import { simulatedDaliCentersOf } from '../src/drivers/dalicenter/simulatedGateways.js';
import { SimulatedDaliCenter } from '../src/drivers/dalicenter/simulator/index.js';
import type { DaliCenterBusRuntime } from '../src/drivers/dalicenter/runtime.js';
import { GatewayOpenContext } from '../src/hosting/openContext.js';
import { systemClock } from '../src/machines/clock.js';

// `transport: simulated` logs in with what the simulated gateway was set up with (its options, the one
// source of the credentials), or with the gateway device's configured user name and password, which
// the simulated broker refuses when they are wrong (CONNACK 4, or 5 when it says "not authorised"),
// and the refusal says to pair again.

const SERIAL = '6A242121110E';
const BUS = `dalicenter:simulated:${SERIAL}`;
let context: GatewayOpenContext | undefined;
let runtime: DaliCenterBusRuntime | undefined;

afterEach(async () => {
  await runtime?.close();
  await context?.close();
  runtime = undefined;
  context = undefined;
});

function gatewayDevice(login = ''): DeviceConfig[] {
  return parseConfig(
    `devices: [{ id: gw, driver: dalicenter, transport: simulated, serial: ${SERIAL}, role: gateway${login} }]`,
    {},
  ).devices;
}

/** Opens the bus on a simulated gateway set up with `options` (put in place first, as the gateway keeps one). */
async function open(devices: DeviceConfig[], gateway: SimulatedDaliCenter): Promise<DaliCenterBusRuntime> {
  context = new GatewayOpenContext(systemClock);
  simulatedDaliCentersOf(context).set(BUS, gateway);
  const opened = context;
  opened.onClose(() => gateway.stop());
  await gateway.start();
  runtime = openSimulatedDaliCenterBus(BUS, devices, opened);
  return runtime;
}

describe('DALI Center simulated transport: the login', () => {
  it("is the simulated gateway's own, whatever it was set up with", async () => {
    const gateway = new SimulatedDaliCenter({
      serial: SERIAL,
      discovery: false,
      credentials: { username: 'installer', password: 'not-the-default' },
    });
    const bus = await open(gatewayDevice(), gateway);
    await bus.connect('gw', AbortSignal.timeout(5_000));
    expect(gateway.clientIds()).toHaveLength(1);
  });

  it('a wrong configured password is refused with CONNACK 4: pair again, and the broker is not asked again', async () => {
    const gateway = new SimulatedDaliCenter({ serial: SERIAL, discovery: false });
    const bus = await open(gatewayDevice(', username: admin, password: wrong'), gateway);
    const refusal = bus.connect('gw', AbortSignal.timeout(5_000));
    await expect(refusal).rejects.toThrow(
      /refused the login \(CONNACK 4: bad user name or password\): pair it again/,
    );
    // The devices are told it is the gateway's link (logged once by it), not theirs.
    await expect(refusal).rejects.toBeInstanceOf(BusLinkDown);
    expect(gateway.refusedLogins).toBe(1);
    for (let attempt = 0; attempt < 3; attempt++)
      await expect(bus.connect('gw', AbortSignal.timeout(5_000))).rejects.toThrow(/pair it again/);
    expect(gateway.refusedLogins).toBe(1);
    expect(gateway.clientIds()).toEqual([]);
  });

  it('a gateway that answers "not authorised" is refused with CONNACK 5', async () => {
    const gateway = new SimulatedDaliCenter({ serial: SERIAL, discovery: false, refusalCode: 5 });
    const bus = await open(gatewayDevice(', password: wrong'), gateway);
    await expect(bus.connect('gw', AbortSignal.timeout(5_000))).rejects.toThrow(
      /refused the login \(CONNACK 5: not authorised\): pair it again/,
    );
  });
});
