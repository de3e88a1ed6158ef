import { escapeXml } from '../escapeXml.js';
import { formatDuration } from '../logging/index.js';
import type { PageSnapshot } from './live.js';

// GET /: the status page. One self-contained document (inline CSS and script, no framework, no build
// step), kept as a string here so `npm run build` ships it with nothing to copy. The inline style and
// script carry the response's nonce, the only ones its Content-Security-Policy lets run. The current
// snapshot comes inside the document: the header's figures are in the HTML itself and the script renders the
// tree from the inlined snapshot before the first paint, so the page never shows "0 buses" while
// /events connects; then it renders the snapshots that /events pushes (see live.ts for their shape).
// Every text from the gateway goes in through textContent (or escaped, in the HTML), never innerHTML,
// so a device id or an error message cannot inject markup. Elements carry data-* attributes
// (data-device, data-state, data-health) for the browser test and for anyone scripting the page.
// Narrower than 640 px (a phone), each device is a card instead of a table row.

/** JSON inside <script>: `<` escaped so no text can close the element. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/**
 * The status page with `snapshot` painted in; `now` (epoch ms) lets the page count uptime on; `nonce`
 * marks its style and script for the Content-Security-Policy the server sends with it.
 */
export function statusPage(snapshot: PageSnapshot, now: number, nonce: string): string {
  const devices = snapshot.buses.reduce((count, bus) => count + bus.devices.length, 0);
  const text = (value: string | number) => escapeXml(String(value));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fieldbridge</title>
<style nonce="${nonce}">
  :root { --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --muted: #656d76; --line: #d0d7de; }
  * { box-sizing: border-box; }
  body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  header { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; padding: 12px 20px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0 8px 0 0; }
  main { padding: 16px 20px; max-width: 1200px; }
  .badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); white-space: nowrap; }
  .online, .healthy, .running, .succeeded { background: var(--ok); }
  .degraded, .reconnecting, .connecting, .starting, .restarting, .rate_limited, .started { background: var(--warn); }
  .offline, .down, .failed, .stopped, .escalated { background: var(--bad); }
  .stat { color: var(--muted); }
  .stat b { color: #1f2328; }
  #live { margin-left: auto; font-size: 12px; color: var(--muted); }
  #live.stale { color: var(--bad); font-weight: 600; }
  ul#issues { margin: 0 0 16px; padding-left: 20px; }
  section.bus { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin-bottom: 16px; }
  section.bus h2 { font-size: 15px; margin: 0; padding: 8px 12px; border-bottom: 1px solid var(--line); display: flex; gap: 10px; align-items: center; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 5px 12px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
  th { font-size: 12px; color: var(--muted); font-weight: 600; }
  td.reason { color: var(--muted); max-width: 360px; overflow-wrap: anywhere; }
  .tree { color: var(--muted); font-size: 12px; margin: 0 0 8px; }
  h3 { font-size: 15px; margin: 24px 0 8px; }
  #history { background: #fff; border: 1px solid var(--line); border-radius: 6px; }
  .empty { color: var(--muted); padding: 8px 12px; }
  code { font-size: 12px; overflow-wrap: anywhere; }
  @media (max-width: 640px) {
    header { padding: 10px 12px; gap: 6px 12px; }
    main { padding: 12px; }
    #live { margin-left: 0; }
    section.bus h2 { flex-wrap: wrap; }
    table, thead, tbody, tr, td { display: block; }
    thead { display: none; }
    tr { padding: 6px 0; border-bottom: 1px solid #eaeef2; }
    td { border: 0; padding: 2px 12px; }
    td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: 12px; }
    td.reason { max-width: none; }
    tbody td:first-child { font-weight: 600; }
    td.state, td.state + td, #history td { display: inline-block; }
    #history td { padding: 2px 4px 2px 12px; }
    #history td.reason { display: block; }
  }
</style>
</head>
<body>
<header>
  <h1>fieldbridge <span class="stat" id="version">${text(snapshot.version)}</span></h1>
  <span>status <span id="status" class="badge">${text(snapshot.status)}</span></span>
  <span class="stat">MQTT <span id="mqtt" class="badge">${snapshot.mqtt.online === null ? 'unknown' : snapshot.mqtt.online ? 'online' : 'offline'}</span></span>
  <span class="stat">queue <b id="queue">${snapshot.queue ? snapshot.queue.depth : '–'}</b></span>
  <span class="stat">oldest <b id="oldest">${snapshot.queue ? `${snapshot.queue.oldestAgeS} s` : '–'}</b></span>
  <span class="stat">dropped <b id="dropped">${snapshot.queue ? snapshot.queue.dropped : '–'}</b></span>
  <span class="stat">up <b id="uptime">${text(formatDuration(now - snapshot.startedAt))}</b></span>
  <span id="live">connecting…</span>
</header>
<main>
  <ul id="issues"></ul>
  <p class="tree">root supervisor → <span id="bus-count">${snapshot.buses.length}</span> buses → <span id="device-count">${devices}</span> devices</p>
  <div id="buses"></div>
  <h3>Recent recovery and restarts</h3>
  <div id="history"><div class="empty">none yet</div></div>
</main>
<script nonce="${nonce}">
'use strict';
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
const cls = (text) => String(text).replace(/[^a-z_]/gi, '_').replace(/^connected_/, '');
const badge = (text) => el('span', { class: 'badge ' + cls(text) }, text);
function ago(at) {
  if (at === null || at === undefined) return '';
  const s = Math.max(0, Math.round((Date.now() - at) / 1000));
  if (s < 60) return s + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  return Math.round(s / 3600) + ' h ago';
}
const time = (at) => new Date(at).toLocaleTimeString();
// The server's clock at render time: uptime is counted on from the server's start, whatever the
// browser's clock says.
const clockOffset = ${now} - Date.now();
let startedAt = 0;
// As formatDuration in src/logging/duration.ts: the two most significant units.
function duration(ms) {
  const s = Math.floor(Math.max(0, ms) / 1000);
  const two = (major, majorUnit, minor, minorUnit) => major + majorUnit + (minor === 0 ? '' : ' ' + minor + minorUnit);
  if (s < 60) return s + 's';
  if (s < 3600) return two(Math.floor(s / 60), 'm', s % 60, 's');
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor(s / 60) % 60, 'm');
  return two(Math.floor(s / 86400), 'd', Math.floor(s / 3600) % 24, 'h');
}
const showUptime = () => { $('uptime').textContent = duration(Date.now() + clockOffset - startedAt); };
function fmt(value) {
  return typeof value === 'number' ? String(Math.round(value * 1000) / 1000) : String(value);
}

function deviceRow(device) {
  const reading = device.reading
    ? el('span', { title: new Date(device.reading.at).toISOString() },
        device.reading.values.map(([k, v]) => k + ' ' + fmt(v)).join(', '),
        el('br'), el('span', { class: 'stat', 'data-at': String(device.reading.at) }, ago(device.reading.at)))
    : el('span', { class: 'stat' }, 'no reading yet');
  return el('tr', { 'data-device': device.id, 'data-state': device.state, 'data-health': device.health },
    el('td', {}, el('code', {}, device.id)),
    el('td', { class: 'state', 'data-label': 'state' }, badge(device.state)),
    el('td', { 'data-label': 'health' }, badge(device.health)),
    el('td', { 'data-label': 'last reading' }, reading),
    el('td', { 'data-label': 'restarts' }, String(device.restarts), device.lastRecovery ? el('div', { class: 'stat' }, device.lastRecovery) : ''),
    device.health === 'healthy' ? el('td', { class: 'reason' }) : el('td', { class: 'reason', 'data-label': 'why' }, device.reason));
}

function render(snapshot) {
  $('version').textContent = snapshot.version;
  startedAt = snapshot.startedAt;
  showUptime();
  $('status').textContent = snapshot.status;
  $('status').className = 'badge ' + cls(snapshot.status);
  const online = snapshot.mqtt.online;
  $('mqtt').textContent = online === null ? 'unknown' : online ? 'online' : 'offline';
  $('mqtt').className = 'badge ' + (online ? 'online' : 'offline');
  $('queue').textContent = snapshot.queue ? String(snapshot.queue.depth) : '–';
  $('oldest').textContent = snapshot.queue ? snapshot.queue.oldestAgeS + ' s' : '–';
  $('dropped').textContent = snapshot.queue ? String(snapshot.queue.dropped) : '–';
  const issues = snapshot.issues.filter((issue) => issue !== 'System operational');
  $('issues').replaceChildren(...issues.map((issue) => el('li', {}, issue)));
  $('bus-count').textContent = String(snapshot.buses.length);
  $('device-count').textContent = String(snapshot.buses.reduce((n, bus) => n + bus.devices.length, 0));
  $('buses').replaceChildren(...snapshot.buses.map((bus) =>
    el('section', { class: 'bus', 'data-bus': bus.id, 'data-state': bus.state },
      el('h2', {}, el('code', {}, bus.id), badge(bus.state), el('span', { class: 'stat' }, bus.driver),
        el('span', { class: 'stat' }, bus.devices.filter((d) => d.health !== 'down').length + '/' + bus.devices.length + ' up'),
        bus.failure ? el('span', { class: 'stat' }, bus.failure) : ''),
      el('table', {},
        el('thead', {}, el('tr', {}, ...['device', 'state', 'health', 'last reading', 'restarts', 'why'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...bus.devices.map(deviceRow))))));
  const history = snapshot.history.slice().reverse();
  $('history').replaceChildren(history.length === 0 ? el('div', { class: 'empty' }, 'none yet') :
    el('table', {},
      el('thead', {}, el('tr', {}, ...['time', 'event', 'actor', 'step', 'outcome', 'detail'].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...history.map((e) => el('tr', { 'data-kind': e.kind },
        el('td', {}, time(e.at)), el('td', {}, badge(e.kind)), el('td', {}, el('code', {}, e.actor)),
        el('td', {}, e.step || ''), el('td', {}, e.outcome ? badge(e.outcome) : ''), el('td', { class: 'reason' }, e.detail))))));
}

render(${inlineJson(snapshot)});

// The stream is live while snapshots or heartbeats keep coming; EventSource reconnects by itself.
let lastMessage = 0;
const source = new EventSource('events');
const alive = () => { lastMessage = Date.now(); $('live').textContent = 'live'; $('live').className = ''; };
source.addEventListener('snapshot', (event) => { alive(); render(JSON.parse(event.data)); });
source.addEventListener('heartbeat', alive);
source.onerror = () => { $('live').textContent = 'disconnected, retrying…'; $('live').className = 'stale'; };
setInterval(() => {
  if (lastMessage && Date.now() - lastMessage > 25000) { $('live').textContent = 'no news for ' + ago(lastMessage).replace(' ago', ''); $('live').className = 'stale'; }
  for (const node of document.querySelectorAll('[data-at]')) node.textContent = ago(Number(node.getAttribute('data-at')));
  showUptime();
}, 1000);
</script>
</body>
</html>
`;
}
