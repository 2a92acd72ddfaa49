/**
 * The admin dashboard end to end: the real `openhqm start` (built dist/, SQLite, auth on) and
 * Debian's Chromium driven by playwright-core. The page refuses to show anything without an
 * admin credential and says why; with one it shows the queues live, a request submitted through
 * the API appearing and completing (its timeline followed over SSE), and a dead letter replayed
 * with an edited payload from the page. Nothing the page loads breaks its Content-Security-Policy,
 * and the credential never appears in a URL.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEYS, TEST_KEYS } from '../helpers/auth.js';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { startCli, type CliProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { waitFor } from '../helpers/wait.js';

const MODULE = fileURLToPath(new URL('../fixtures/processor.mjs', import.meta.url));
const dir = tempDir('openhqm-dashboard-e2e-');
const missing = chromiumMissing();

let server: CliProcess;
let browser: Browser;
/** Whatever the browser reported that a page must never cause: CSP violations, script errors. */
const violations: string[] = [];
/** Every URL the page asked for. */
const requested: string[] = [];

beforeAll(async () => {
  if (missing !== undefined) return;
  server = await startCli(['start'], {
    OPENHQM_SQLITE__PATH: join(dir, 'dashboard.db'),
    OPENHQM_WORKER__PROCESSOR_MODULE: MODULE,
    OPENHQM_AUTH__ENABLED: 'true',
    OPENHQM_AUTH__API_KEYS: JSON.stringify(TEST_KEYS),
    OPENHQM_API__QUEUES_STREAM_INTERVAL_SECONDS: '0.5',
  }).ready();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (server === undefined) return;
  server.kill('SIGTERM');
  await server.exited;
});

/** expect.poll with a deadline a loaded CI machine can meet (its default is one second). */
const eventually = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 20_000 });

async function open(viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content.Security.Policy|Trusted ?(HTML|Script|Type)/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (error) => violations.push(`page error: ${error.message}`));
  page.on('request', (request) => requested.push(request.url()));
  return { context, page };
}

async function useKey(page: Page, key: string): Promise<void> {
  const forget = page.getByRole('button', { name: 'Forget key' });
  if (await forget.isVisible()) await forget.click();
  await page.getByLabel('API key or token').fill(key);
  await page.getByRole('button', { name: 'Use key' }).click();
}

async function submit(payload: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/submit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEYS.acme },
    body: JSON.stringify({ payload }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { correlation_id: string }).correlation_id;
}

async function statusOf(id: string): Promise<string> {
  const res = await fetch(`${server.url}/api/v1/status/${id}`, { headers: { 'x-api-key': KEYS.admin } });
  return ((await res.json()) as { status: string }).status;
}

describe('the dashboard in Chromium', () => {
  it('without a key shows the refusal, with a submit key the missing role, with an admin key the live queues', async (ctx) => {
    if (missing !== undefined) return ctx.skip(missing.skip);
    const { context, page } = await open();
    // /dashboard redirects to /dashboard/, whose relative paths reach the API.
    await page.goto(`${server.url}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/');
    const alert = page.getByRole('alert');
    await eventually(() => alert.textContent()).toContain('Refused (401)');
    expect(await alert.textContent()).toContain('HQM_ERR_UNAUTHENTICATED');

    await useKey(page, KEYS.acme);
    await eventually(() => page.getByRole('alert').textContent()).toContain('Refused (403)');
    expect(await page.getByRole('alert').textContent()).toContain('admin role');

    await useKey(page, KEYS.admin);
    const row = page.locator('[data-testid="queues-table"] tr[data-queue="default"]');
    await row.waitFor();
    await eventually(() => page.getByTestId('live-state').textContent()).toContain('live');
    // The stream, not a reload, brings the next table: a request waiting shows up in the depth.
    const marker = join(dir, 'queue-depth.release');
    const held = await submit({ mode: 'until_file', marker });
    await eventually(() => row.locator('td[data-label="In flight"]').textContent()).toBe('1');
    writeFileSync(marker, '');
    await waitFor(async () => (await statusOf(held)) === 'COMPLETED', { what: 'the held request to complete' });

    // A reload keeps the key (sessionStorage, this tab) and the theme the toggle chose.
    const theme = await page.locator('html').getAttribute('data-theme');
    const background = (): Promise<string> => page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    const before = await background();
    await page.getByRole('button', { name: /switch to the/ }).click();
    const other = theme === 'dark' ? 'light' : 'dark';
    await eventually(() => page.locator('html').getAttribute('data-theme')).toBe(other);
    // The palette follows the attribute, whatever the system prefers.
    await eventually(background).not.toBe(before);
    await page.reload();
    await row.waitFor();
    expect(await page.locator('html').getAttribute('data-theme')).toBe(other);
    await context.close();
  }, 60_000);

  it('shows a request submitted through the API appear, then complete, with its timeline followed live', async (ctx) => {
    if (missing !== undefined) return ctx.skip(missing.skip);
    const { context, page } = await open();
    await page.goto(`${server.url}/dashboard/#/requests`);
    await useKey(page, KEYS.admin);
    const marker = join(dir, 'appear.release');
    const id = await submit({ mode: 'until_file', marker });
    const row = page.locator(`[data-testid="requests-table"] tr[data-id="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    await eventually(() => row.locator('td[data-label="Status"]').textContent()).toContain('PROCESSING');

    await row.getByRole('link').click();
    const status = page.getByTestId('request-status');
    await eventually(() => status.textContent()).toContain('PROCESSING');
    await eventually(() => page.getByText('following live').count()).toBe(1);
    writeFileSync(marker, '');
    // Over the stream: no reload, no poll of ours.
    await eventually(() => status.textContent()).toContain('COMPLETED');
    const timeline = page.getByTestId('timeline');
    await eventually(() => timeline.locator('.timeline-title').allTextContents()).toEqual(['Submitted', 'Attempt 1 started', 'Completed']);
    // The result event follows the last status event.
    await eventually(() => page.locator('pre.json').textContent()).toContain('"released": true');

    await page.goBack();
    await eventually(() => row.locator('td[data-label="Status"]').textContent()).toContain('COMPLETED');
    // The search finds it by status, and by id.
    await page.getByLabel('Status').selectOption('COMPLETED');
    await page.getByRole('button', { name: 'Search' }).click();
    await eventually(() => page.url()).toContain('status=COMPLETED');
    await row.waitFor();
    await page.getByLabel('Correlation id').fill(id);
    await page.getByRole('button', { name: 'Search' }).click();
    await eventually(() => page.url()).toContain(`#/requests/${id}`);
    await context.close();
  }, 60_000);

  it('replays a dead letter with an edited payload, and purges another', async (ctx) => {
    if (missing !== undefined) return ctx.skip(missing.skip);
    const failing = await submit({ mode: 'permanent' });
    const doomed = await submit({ mode: 'permanent', n: 2 });
    await waitFor(async () => (await statusOf(failing)) === 'FAILED' && (await statusOf(doomed)) === 'FAILED', { what: 'both requests to fail' });

    const { context, page } = await open();
    await page.goto(`${server.url}/dashboard/#/dead-letters`);
    await useKey(page, KEYS.admin);
    const letter = page.locator(`li.letter[data-correlation-id="${failing}"]`);
    await letter.waitFor({ timeout: 15_000 });
    expect(await letter.textContent()).toContain('bad input');

    await letter.getByRole('button', { name: 'Edit & replay' }).click();
    const payload = letter.getByLabel('Payload');
    await eventually(() => payload.inputValue()).toContain('"mode": "permanent"');
    await payload.fill('{"mode": "echo", "fixed": true}');
    await letter.getByRole('button', { name: 'Replay edited' }).click();
    const notice = page.getByTestId('dead-letter-notice');
    await eventually(() => notice.textContent()).toContain(failing);
    await notice.getByRole('link').click();
    await eventually(() => page.getByTestId('request-status').textContent()).toContain('COMPLETED');
    await eventually(() => page.locator('pre.json').textContent()).toContain('"fixed": true');
    expect(await page.getByTestId('timeline').locator('.timeline-title').allTextContents()).toContain('Replayed from the dead letters');

    await page.goto(`${server.url}/dashboard/#/dead-letters`);
    const other = page.locator(`li.letter[data-correlation-id="${doomed}"]`);
    await other.waitFor();
    await other.getByRole('button', { name: 'Purge' }).click();
    await other.getByRole('button', { name: 'Really purge?' }).click();
    await eventually(() => page.getByTestId('dead-letter-notice').textContent()).toContain('Purged');
    await eventually(() => other.count()).toBe(0);
    await context.close();
  }, 60_000);

  it('fits a phone: one column, nothing wider than the screen', async (ctx) => {
    if (missing !== undefined) return ctx.skip(missing.skip);
    const { context, page } = await open({ width: 390, height: 844 });
    await page.goto(`${server.url}/dashboard/`);
    await useKey(page, KEYS.admin);
    await page.locator('[data-testid="queues-table"] tr[data-queue="default"]').waitFor();
    for (const view of ['#/queues', '#/requests', '#/dead-letters', '#/simulator']) {
      await page.goto(`${server.url}/dashboard/${view}`);
      await page.locator('main .panel').first().waitFor();
      expect(await page.evaluate<number>('document.documentElement.scrollWidth'), view).toBeLessThanOrEqual(390);
    }
    await context.close();
  }, 60_000);

  it('reads the queue table every few seconds where no stream is to be had (api.max_streams: 0)', async (ctx) => {
    if (missing !== undefined) return ctx.skip(missing.skip);
    const streamless = await startCli(['start'], { OPENHQM_QUEUE__TYPE: 'memory', OPENHQM_CACHE__TYPE: 'memory', OPENHQM_API__MAX_STREAMS: '0' }).ready();
    try {
      const { context, page } = await open();
      await page.goto(`${streamless.url}/dashboard/`);
      await page.locator('[data-testid="queues-table"] tr[data-queue="default"]').waitFor();
      await eventually(() => page.getByTestId('live-state').textContent()).toContain('read every 5 s');
      expect(await page.getByRole('alert').count()).toBe(0);
      await context.close();
    } finally {
      streamless.kill('SIGTERM');
      await streamless.exited;
    }
  }, 60_000);

  it('broke no Content-Security-Policy rule, and never put the credential in a URL', (ctx) => {
    if (missing !== undefined) return ctx.skip(missing.skip);
    expect(violations).toEqual([]);
    expect(requested.length).toBeGreaterThan(10);
    for (const key of Object.values(KEYS)) expect(requested.filter((url) => url.includes(key))).toEqual([]);
  });
});
