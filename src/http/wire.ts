import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, pagePolicy } from './access.js';

// Reading requests and writing answers for server.ts: JSON, text and page answers, redirects, the
// request target, and bodies (read whole when small, drained otherwise, cut off when huge).

/** A body no route reads is drained up to this, then the connection is cut. */
const MAX_DRAINED_BODY = 1024 * 1024;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, {
    'content-type': contentType,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'content-length': 0, ...headers });
  res.end();
}

export function sendPage(res: ServerResponse, status: number, html: string, nonce: string): void {
  res.setHeader('content-security-policy', pagePolicy(nonce));
  sendText(res, status, 'text/html; charset=utf-8', html);
}

/** A path segment, percent-decoded; a malformed escape is the client's error. */
export function decodeSegment(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '');
  } catch {
    throw new HttpError(400, `malformed percent-encoding in "${segment ?? ''}"`);
  }
}

/**
 * The path and query of a request. Prefixed rather than resolved against a base: `//metrics` is a
 * path here, not a URL of the host "metrics".
 */
export function requestTarget(target: string): URL {
  try {
    return new URL(target.startsWith('/') ? `http://fieldbridge.invalid${target}` : target);
  } catch {
    throw new HttpError(400, `malformed request target "${target}"`);
  }
}

/** Reads a small body whole; a bigger one is refused with 413, a broken one (cut off, bad chunks) 400. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) break;
      chunks.push(chunk);
    }
  } catch {
    throw new HttpError(400, 'the request body was cut off or malformed', { connection: 'close' });
  }
  if (size > limit) {
    throw new HttpError(413, `the request body is larger than ${limit} bytes`, { connection: 'close' });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads off a body no route uses, so keep-alive connections stay usable; cuts a huge one. */
export function drainBody(req: IncomingMessage): void {
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_DRAINED_BODY) req.socket.destroy();
  });
}
