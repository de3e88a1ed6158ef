import { ALL_PANEL_EVENTS, type MotionState, type PanelEventName } from '../codec/index.js';
import type { SimulatedDaliCenter } from './gateway.js';
import { DALICENTER_CONSOLE_HELP } from './usage.js';

// The typed console of `fieldbridge simulate dalicenter`: one line, one fault or push on the simulated
// gateway, and a line saying what happened (or why the line was not understood).

const MOTION_STATES: readonly MotionState[] = ['no_motion', 'motion', 'vacant', 'occupancy', 'presence'];

class ControlError extends Error {}

function whole(text: string | undefined, what: string, min: number, max: number): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || value < min || value > max)
    throw new ControlError(`${what} must be a whole number ${min}-${max}`);
  return value;
}

function numeric(text: string | undefined, what: string): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value))
    throw new ControlError(`${what} must be a number`);
  return value;
}

function onOff(text: string | undefined): boolean {
  if (text === 'on' || text === 'off') return text === 'on';
  throw new ControlError('say on or off');
}

function describe(gateway: SimulatedDaliCenter): string {
  const clients = gateway.clientIds();
  return [
    gateway.isDown ? 'down (rebooting)' : `broker ${gateway.mqttUrl}`,
    `discovery on UDP ${gateway.discoveryPort ?? 'off'}`,
    `button ${gateway.buttonPressed ? 'pressed' : 'released'}`,
    `${clients.length} client(s)${clients.length > 0 ? `: ${clients.join(', ')}` : ''}`,
    `${gateway.requests.length} command(s) received`,
  ].join('; ');
}

/** Runs one console line on `gateway`; resolves with the reply line (an error is a reply too). */
export async function executeControl(gateway: SimulatedDaliCenter, line: string): Promise<string> {
  const [name, ...rest] = line.trim().split(/\s+/);
  try {
    switch ((name ?? '').toLowerCase()) {
      case '':
        return '';
      case 'help':
        return DALICENTER_CONSOLE_HELP;
      case 'status':
        return describe(gateway);
      case 'press': {
        const seconds = rest[0] === undefined ? 30 : whole(rest[0], 'seconds', 1, 3600);
        gateway.pressButton(seconds * 1000);
        return `button pressed for ${seconds} s: discovery now reveals the credentials`;
      }
      case 'reboot': {
        const seconds = rest[0] === undefined ? 5 : whole(rest[0], 'seconds', 0, 3600);
        await gateway.reboot(seconds * 1000);
        return `rebooting: back in ${seconds} s`;
      }
      case 'move': {
        const port = await gateway.changeAddress({
          port: whole(rest[0], 'port', 0, 65_535),
          ...(rest[1] !== undefined ? { host: rest[1] } : {}),
        });
        return `the broker moved to ${gateway.mqttUrl} (port ${port}); discovery announces it`;
      }
      case 'silence': {
        const silent = onOff(rest[0]);
        gateway.silence(silent);
        return silent ? 'the broker is silent' : 'the broker talks again';
      }
      case 'reset':
        return `reset ${gateway.resetConnections()} connection(s)`;
      case 'kick':
        if (rest[0] === undefined) throw new ControlError('kick needs a client id (status lists them)');
        return gateway.kickClient(rest[0]) ? `kicked ${rest[0]}` : `no client ${rest[0]}`;
      case 'credentials':
        if (rest.length !== 2) throw new ControlError('credentials needs a user name and a password');
        gateway.changeCredentials({ username: rest[0] as string, password: rest[1] as string });
        return 'credentials changed; logged-in clients were dropped';
      case 'garbage':
        await gateway.injectInvalidUtf8();
        return 'published invalid UTF-8';
      case 'unknown':
        await gateway.injectUnknownMessage();
        return 'published an unknown cmd';
      default:
        return push(gateway, (name ?? '').toLowerCase(), rest);
    }
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

function push(gateway: SimulatedDaliCenter, name: string, rest: string[]): string {
  const address = () => whole(rest[0], 'address', 0, 63);
  switch (name) {
    case 'panel': {
      const event = rest[2] as PanelEventName;
      if (!ALL_PANEL_EVENTS.includes(event))
        throw new ControlError(`event must be one of ${ALL_PANEL_EVENTS.join(', ')}`);
      gateway.push.panelKey(
        address(),
        whole(rest[1], 'key', 1, 8),
        event,
        event === 'rotate' ? numeric(rest[3] ?? '1', 'rotation') : 0,
      );
      return `panel ${rest[0]} key ${rest[1]}: ${event}`;
    }
    case 'motion': {
      const state = rest[1] as MotionState;
      if (!MOTION_STATES.includes(state))
        throw new ControlError(`state must be one of ${MOTION_STATES.join(', ')}`);
      gateway.push.motion(address(), state);
      return `motion sensor ${rest[0]}: ${state}`;
    }
    case 'lux':
      gateway.push.illuminance(address(), numeric(rest[1], 'lux'));
      return `illuminance sensor ${rest[0]}: ${rest[1]} lx`;
    case 'online':
      gateway.push.online(address(), onOff(rest[1]));
      return `device ${rest[0]} ${rest[1] === 'on' ? 'online' : 'offline'}`;
    case 'energy':
      gateway.push.energy(address(), numeric(rest[1], 'Wh'));
      return `device ${rest[0]}: +${rest[1]} Wh reported`;
    default:
      throw new ControlError(`unknown command "${name}" (try "help")`);
  }
}
