import { createServer, type Server } from 'node:http';
import { createWebSocketInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { InspectionEvent } from 'xstate';
import { WebSocket, WebSocketServer } from 'ws';
import { sanitizeMeta } from '../logging/sanitize.js';
import { DEFAULT_INSPECT_PORT } from './inspectorPort.js';

// `fieldbridge start --inspect`: the actor system streamed to the Stately inspector. The gateway sends
// inspection events over a WebSocket to a relay bound to 127.0.0.1 only; the relay also serves a page
// that embeds the inspector (stately.ai/inspect, loaded by the operator's browser) and forwards the
// events to it. Every event is passed through the log sanitiser first, so bind keys, passwords and
// tokens never leave the process. On a headless box, tunnel the port: ssh -L 4242:127.0.0.1:4242 box.

const INSPECTOR_UI = 'https://stately.ai/inspect';
/** Events kept for a browser that opens the page after the gateway started. */
const REPLAY_EVENTS = 500;

function bridgePage(port: number): string {
  return `<!DOCTYPE html>
<html><head><title>fieldbridge · Stately inspector</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" src="${INSPECTOR_UI}"></iframe>
<script>
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

export async function startInspectorRelay(port = DEFAULT_INSPECT_PORT): Promise<InspectorRelay> {
  const server: Server = createServer((request, response) => {
    response.writeHead(request.url === '/' ? 200 : 404, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(request.url === '/' ? bridgePage(port) : 'not found');
  });
  const sockets = new WebSocketServer({ server });
  // The WebSocket server re-emits the HTTP server's errors; listen() below reports them.
  sockets.on('error', () => undefined);
  const replay: string[] = [];
  sockets.on('connection', (socket) => {
    for (const message of replay) socket.send(message);
    socket.on('message', (data) => {
      const message = data.toString();
      replay.push(message);
      if (replay.length > REPLAY_EVENTS) replay.shift();
      for (const client of sockets.clients) {
        if (client !== socket && client.readyState === WebSocket.OPEN) client.send(message);
      }
    });
  });
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
  const inspector = createWebSocketInspector({
    url: `ws://127.0.0.1:${port}`,
    serialize: sanitizeInspection,
  });
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
