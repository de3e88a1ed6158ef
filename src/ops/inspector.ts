import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { WebSocket, WebSocketServer } from 'ws';
import { isLoopbackHostHeader, newNonce, setSecurityHeaders } from '../http/access.js';
import { sanitizeMeta } from '../logging/sanitize.js';
import { DEFAULT_INSPECT_PORT } from './inspectorPort.js';

// `fieldbridge start --inspect`: the actor system streamed to the Stately inspector. A relay bound to
// 127.0.0.1 only serves a page that embeds the inspector (stately.ai/inspect, loaded by the operator's
// browser) and pushes the gateway's inspection events to that page over a WebSocket. Every event is
// passed through the log sanitiser first, so bind keys, passwords and tokens never leave the process.
// The events go from the gateway to the relay in-process, so the WebSocket is one-way: what a client
// sends is dropped, never replayed to others. Only the relay's own page may connect: a WebSocket whose
// Origin is another site (a page the operator happens to have open) or missing (no browser needs that)
// is refused, as is a request by a name that is not loopback (DNS rebinding). On a headless box,
// tunnel the port: ssh -L 4242:127.0.0.1:4242 box.

const INSPECTOR_UI = 'https://stately.ai/inspect';
/** Events kept for a browser that opens the page after the gateway started. */
const REPLAY_EVENTS = 500;
/** A client has nothing to say; a frame bigger than this closes its socket. */
const MAX_CLIENT_FRAME = 1024;

function bridgePage(port: number, nonce: string): string {
  return `<!DOCTYPE html>
<html><head><title>fieldbridge · Stately inspector</title>
<style nonce="${nonce}">html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" src="${INSPECTOR_UI}"></iframe>
<script nonce="${nonce}">
  const frame = document.getElementById('inspector');
  const waiting = [];
  let ready = false;
  window.addEventListener('message', (event) => {
    if (event.data && event.data.type === '@statelyai.connected') {
      ready = true;
      for (const data of waiting.splice(0)) frame.contentWindow.postMessage(data, '*');
    }
  });
  const socket = new WebSocket('ws://127.0.0.1:${port}');
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (ready) frame.contentWindow.postMessage(data, '*');
    else waiting.push(data);
  };
</script></body></html>`;
}

export interface InspectorRelay {
  readonly port: number;
  /** Pass to createActor({ inspect }) of every actor system. */
  readonly inspect: (event: InspectionEvent) => void;
  stop(): Promise<void>;
}

/**
 * Removes secrets from what an inspection event carries: snapshots, events, inputs, and the machine
 * definition, which the inspector library sends as a JSON string (its initial context included).
 */
export function sanitizeInspection(event: StatelyInspectionEvent): StatelyInspectionEvent {
  const clean = sanitizeMeta(event as unknown as Record<string, unknown>);
  if (typeof clean.definition === 'string') {
    try {
      clean.definition = JSON.stringify(
        sanitizeMeta(JSON.parse(clean.definition) as Record<string, unknown>),
      );
    } catch {
      clean.definition = '';
    }
  }
  return clean as unknown as StatelyInspectionEvent;
}

/** The page may run its own script and style, frame the inspector UI and open the relay's socket. */
function pagePolicy(port: number, nonce: string): string {
  return (
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; ` +
    `frame-src ${new URL(INSPECTOR_UI).origin}; connect-src ws://127.0.0.1:${port}; base-uri 'none'; ` +
    `frame-ancestors 'none'`
  );
}

/** Whether a WebSocket upgrade comes from the relay's own page, by a loopback name. */
function fromOwnPage(request: IncomingMessage, port: number): boolean {
  const { origin, host } = request.headers;
  if (origin === undefined || !isLoopbackHostHeader(host, port)) return false;
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && isLoopbackHostHeader(url.host, port);
  } catch {
    return false;
  }
}

export async function startInspectorRelay(port = DEFAULT_INSPECT_PORT): Promise<InspectorRelay> {
  const server: Server = createServer((request, response) => {
    setSecurityHeaders(response);
    if (!isLoopbackHostHeader(request.headers.host, port)) {
      response.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end(`the inspector relay answers only to 127.0.0.1:${port} or localhost:${port}\n`);
      return;
    }
    if (request.url !== '/') {
      response.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      response.end('not found');
      return;
    }
    const nonce = newNonce();
    response.setHeader('Content-Security-Policy', pagePolicy(port, nonce));
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    response.end(bridgePage(port, nonce));
  });
  const sockets = new WebSocketServer({
    server,
    maxPayload: MAX_CLIENT_FRAME,
    verifyClient: ({ req }: { req: IncomingMessage }, done: (ok: boolean, code?: number) => void) =>
      done(fromOwnPage(req, port), 403),
  });
  // The WebSocket server re-emits the HTTP server's errors; listen() below reports them.
  sockets.on('error', () => undefined);
  const replay: string[] = [];
  sockets.on('connection', (socket) => {
    // Read-only: a client's frames are dropped (an oversized one closes its socket, see maxPayload).
    socket.on('error', () => socket.terminate());
    for (const message of replay) socket.send(message);
  });
  const publish = (event: StatelyInspectionEvent) => {
    const message = JSON.stringify(event);
    replay.push(message);
    if (replay.length > REPLAY_EVENTS) replay.shift();
    for (const client of sockets.clients) {
      if (client.readyState === WebSocket.OPEN) client.send(message);
    }
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `the inspector port ${port} is in use: choose another with --inspect-port`
            : `the inspector relay cannot listen on 127.0.0.1:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const inspector = createInspector({ send: publish }, { serialize: sanitizeInspection });
  return {
    port,
    inspect: (event) => inspector.inspect.next?.(event),
    async stop() {
      inspector.stop();
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
