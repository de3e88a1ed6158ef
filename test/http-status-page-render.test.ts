import { describe, expect, it } from 'vitest';
import type { PageSnapshot } from '../src/http/live.js';
import { statusPage } from '../src/http/statusPage.js';

// The status page document as the server renders it (no browser needed): the first paint's figures
// are in the HTML, and text from the gateway cannot break out of it. The browser side is in
// http-status-page.test.ts.

const STARTED_AT = Date.UTC(2026, 0, 1, 12, 0, 0);

function snapshot(reason: string): PageSnapshot {
  return {
    version: '2.0.0<b>',
    startedAt: STARTED_AT,
    status: 'degraded',
    issues: [],
    mqtt: { online: true },
    queue: { depth: 7, bytes: 700, oldestAgeS: 3, dropped: 1 },
    buses: [
      {
        id: 'mbus:/dev/ttyUSB0',
        driver: 'mbus',
        state: 'running',
        failure: null,
        devices: ['heat1', 'water1'].map((id) => ({
          id,
          state: 'reconnecting' as const,
          health: 'down' as const,
          reason,
          failures: 1,
          restarts: 0,
          lastRecovery: null,
          reading: null,
        })),
      },
    ],
    history: [],
  };
}

describe('status page document', () => {
  it('carries the counts, version, status, queue and uptime in the HTML itself', () => {
    const html = statusPage(snapshot('timeout'), STARTED_AT + (2 * 3600 + 5 * 60) * 1000, 'n0nce');
    expect(html).toContain('<span id="bus-count">1</span>');
    expect(html).toContain('<span id="device-count">2</span>');
    expect(html).toContain('<span class="stat" id="version">2.0.0&lt;b&gt;</span>');
    expect(html).toContain('<span id="status" class="badge">degraded</span>');
    expect(html).toContain('<b id="queue">7</b>');
    expect(html).toContain('<b id="uptime">2h 5m</b>');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
  });

  it('inlines the snapshot so no text can close the script element', () => {
    const html = statusPage(snapshot('</script><script>alert(1)</script>'), STARTED_AT, 'n0nce');
    expect(html).not.toContain('<script>alert(1)');
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(html).toContain('\\u003c/script>\\u003cscript>alert(1)\\u003c/script>');
  });
});
