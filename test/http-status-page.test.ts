import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allHealthy, type HttpRig, startRig } from './helpers/httpRig.js';

// The status page in a real browser: headless Chromium (Debian's `chromium`, driven by playwright-core)
// opens `/`, sees the actor tree, and follows a simulated bus being unplugged and plugged back in
// through the server-sent events alone (no reload). A screenshot of the page with the outage is saved.

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(`skipping the status page browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

/** Collects the page's Content-Security-Policy violations (Chromium reports them on the console). */
function recordPolicyViolations(page: Page, into: string[]): void {
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) into.push(message.text());
  });
}

describe.skipIf(!available)('status page in headless Chromium', () => {
  let browser: Browser;
  let rig: HttpRig;

  beforeAll(async () => {
    [browser, rig] = await Promise.all([
      chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
      startRig({
        buses: [
          { busId: 'mbus:/dev/ttyUSB0', devices: ['heat1', 'water1'] },
          { busId: 'dali:hasseb-1', devices: ['lamp1'] },
        ],
      }),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await rig?.stop();
  });

  it('shows the devices and follows an unplugged bus live', async () => {
    await rig.waitFor('all devices healthy', () => allHealthy(rig, ['heat1', 'water1', 'lamp1']));
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    recordPolicyViolations(page, errors);
    await page.goto(rig.url);

    const row = (id: string) => page.locator(`tr[data-device="${id}"]`);
    const withHealth = (id: string, health: string) =>
      page.locator(`tr[data-device="${id}"][data-health="${health}"]`);
    for (const id of ['heat1', 'water1', 'lamp1']) {
      await withHealth(id, 'healthy').waitFor({ timeout: 5_000 });
    }
    expect(await page.locator('#status').textContent()).toBe('online');
    expect(await page.locator('#live').textContent()).toBe('live');
    expect(await page.locator('section.bus').count()).toBe(2);
    expect(await page.locator('#queue').textContent()).toBe('3');
    // A reading arrived: some of its values are shown.
    await expect.poll(() => row('heat1').locator('td').nth(3).textContent()).toMatch(/temperature \d/);

    // The M-Bus converter is pulled: both meters go down, the lamp stays healthy, recovery starts.
    rig.runtime('mbus:/dev/ttyUSB0').unplug('USB converter unplugged');
    await withHealth('heat1', 'down').waitFor({ timeout: 5_000 });
    await withHealth('water1', 'down').waitFor({ timeout: 5_000 });
    await page.locator('#history tr[data-kind="recovery"]').first().waitFor({ timeout: 5_000 });
    expect(await row('lamp1').getAttribute('data-health')).toBe('healthy');
    await expect.poll(() => page.locator('#status').textContent()).not.toBe('online');
    expect(await page.locator('#issues li').count()).toBeGreaterThan(0);

    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-status-page-'));
    const screenshot = join(dir, 'status-page-outage.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
    console.log(`status page screenshot: ${screenshot}`);

    // Plugged back in: the page turns healthy again without a reload.
    rig.runtime('mbus:/dev/ttyUSB0').plug();
    await withHealth('heat1', 'healthy').waitFor({ timeout: 10_000 });
    await withHealth('water1', 'healthy').waitFor({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('paints the buses, devices, version and uptime before the event stream delivers anything', async () => {
    await rig.waitFor('all devices healthy', () => allHealthy(rig, ['heat1', 'water1', 'lamp1']));
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // The stream is held open and never answered: whatever the page shows came with the document.
    await page.route('**/events', () => undefined);
    await page.goto(rig.url, { waitUntil: 'domcontentloaded' });
    expect(await page.locator('#bus-count').textContent()).toBe('2');
    expect(await page.locator('#device-count').textContent()).toBe('3');
    expect(await page.locator('tr[data-device][data-health="healthy"]').count()).toBe(3);
    expect(await page.locator('#status').textContent()).toBe('online');
    expect(await page.locator('#version').textContent()).toBe('1.2.3-test');
    expect(await page.locator('#uptime').textContent()).toMatch(/^\d+(s|m)/);
    expect(await page.locator('#live').textContent()).toBe('connecting…');
    expect(errors).toEqual([]);
    await page.close();

    // The figures are in the HTML itself, not only put there by the script.
    const noScript = await browser.newContext({ javaScriptEnabled: false });
    const plain = await noScript.newPage();
    await plain.goto(rig.url, { waitUntil: 'domcontentloaded' });
    expect(await plain.locator('#bus-count').textContent()).toBe('2');
    expect(await plain.locator('#device-count').textContent()).toBe('3');
    expect(await plain.locator('#version').textContent()).toBe('1.2.3-test');
    expect(await plain.locator('#uptime').textContent()).toMatch(/^\d+(s|m)/);
    await noScript.close();
  });

  it('fits a 375 px phone screen without sideways scrolling, also during an outage', async () => {
    await rig.waitFor('all devices healthy', () => allHealthy(rig, ['heat1', 'water1', 'lamp1']));
    const page = await browser.newPage({ viewport: { width: 375, height: 740 }, isMobile: true });
    await page.goto(rig.url);
    await page.locator('tr[data-device="lamp1"]').waitFor({ timeout: 5_000 });
    // Evaluated in the page (a string: this file is compiled without the DOM types).
    const overflow = async () =>
      Number(
        await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'),
      );
    expect(await overflow()).toBeLessThanOrEqual(0);

    // Down devices show their reasons, the history fills: still no sideways scrolling.
    rig.runtime('mbus:/dev/ttyUSB0').unplug('USB converter unplugged');
    await page.locator('tr[data-device="heat1"][data-health="down"]').waitFor({ timeout: 5_000 });
    await page.locator('#history tr[data-kind="recovery"]').first().waitFor({ timeout: 5_000 });
    expect(await overflow()).toBeLessThanOrEqual(0);
    const dir = mkdtempSync(join(tmpdir(), 'fieldbridge-status-page-'));
    const screenshot = join(dir, 'status-page-phone.png');
    await page.screenshot({ path: screenshot });
    console.log(`status page screenshot (375 px): ${screenshot}`);
    rig.runtime('mbus:/dev/ttyUSB0').plug();
    await page.locator('tr[data-device="heat1"][data-health="healthy"]').waitFor({ timeout: 10_000 });
    await page.close();
  });

  it('behind http.token: a person logs in with the form, and the page then runs on the session cookie', async () => {
    const token = 'page-token-81c4';
    const guarded = await startRig({
      buses: [{ busId: 'dali:hasseb-1', devices: ['lamp1'] }],
      http: { token },
    });
    const context = await browser.newContext();
    try {
      await guarded.waitFor('lamp healthy', () => allHealthy(guarded, ['lamp1']));
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      recordPolicyViolations(page, errors);
      await page.goto(guarded.url);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.locator('input[name="token"]').fill('not-it');
      await page.locator('button[type="submit"]').click();
      await page.locator('.error').waitFor({ timeout: 5_000 });
      await page.locator('input[name="token"]').fill(token);
      await page.locator('button[type="submit"]').click();
      await page.locator('tr[data-device="lamp1"][data-health="healthy"]').waitFor({ timeout: 5_000 });
      expect(new URL(page.url()).pathname).toBe('/');
      // The event stream runs on the cookie too.
      await expect.poll(() => page.locator('#live').textContent(), { timeout: 5_000 }).toBe('live');
      const [cookie] = await context.cookies();
      expect(cookie).toMatchObject({ name: 'fieldbridge_session', httpOnly: true, sameSite: 'Strict' });
      expect(cookie?.value).not.toContain(token);
      // The script cannot read it.
      expect(await page.evaluate('document.cookie')).toBe('');
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await guarded.stop();
    }
  });
});
