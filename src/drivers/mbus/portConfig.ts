import { nonEmptyString } from '../../config/fields/fields.js';

// Where an M-Bus line is: a serial port (/dev/ttyUSB0, a /dev/serial/by-id/… link) or an M-Bus level
// converter on Ethernet that passes the bytes through a TCP connection (`tcp://host:port`, often port
// 10001). Both carry the same master; only the byte pipe under it differs.

export const MBUS_BAUD_RATES = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400] as const;
export const MBUS_DEFAULT_BAUD = 2400;

export interface TcpAddress {
  host: string;
  port: number;
}

const TCP_PREFIX = 'tcp://';
const TCP_ADDRESS = /^tcp:\/\/(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):(\d{1,5})\/?$/;

export function isTcpPort(port: string | undefined): boolean {
  return port?.toLowerCase().startsWith(TCP_PREFIX) ?? false;
}

/** What is wrong with a `tcp://` port, or undefined when it is fine (or not a TCP port at all). */
export function tcpPortProblem(port: string): string | undefined {
  if (!isTcpPort(port)) return undefined;
  const match = TCP_ADDRESS.exec(port);
  const number = Number(match?.[2]);
  if (match === null || !Number.isInteger(number) || number < 1 || number > 65_535) {
    return `"${port}" is not a TCP converter address: expected tcp://host:port with a port 1-65535, e.g. tcp://192.168.1.50:10001`;
  }
  return undefined;
}

/** The host and port of a `tcp://host:port` line; throws with the problem for anything else. */
export function parseTcpPort(port: string): TcpAddress {
  const problem = isTcpPort(port) ? tcpPortProblem(port) : `"${port}" is not a tcp:// address`;
  const match = TCP_ADDRESS.exec(port);
  if (problem !== undefined || match === null) throw new Error(problem);
  return { host: (match[1] ?? '').replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** A serial port path or a checked `tcp://host:port`. */
export const mbusPort = () =>
  nonEmptyString().superRefine((port, ctx) => {
    const problem = tcpPortProblem(port);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });
