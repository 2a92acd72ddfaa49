/**
 * `npm run dashboard:screenshots`: the pictures in docs/dashboard.md, taken from the real thing.
 * Starts `openhqm start` (the built dist/, SQLite in a temporary directory, three named queues,
 * the test processor module), sends it a little traffic — requests that complete, one that
 * needs three attempts, some that fail for good (dead letters), some held in flight, some
 * delayed — and a second `openhqm start` (in memory) with routing on for the route simulator; then Debian's
 * Chromium (playwright-core) photographs each view in both themes at 1280×800 and on a phone
 * (390×844), into docs/images/dashboard-<view>-<theme>-<device>.png.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { chromiumMissing, launchChromium } from '../../test/helpers/chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'docs', 'images');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const MODULE = join(ROOT, 'test', 'fixtures', 'processor.mjs');

const DEVICES = {
  desktop: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
  phone: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
} as const;
type Device = keyof typeof DEVICES;
type Theme = 'light' | 'dark';

/** Which views, in which theme and on which device. */
const SHOTS: ReadonlyArray<{ view: View; theme: Theme; device: Device }> = [
  ...(['queues', 'requests', 'request', 'dead-letters', 'simulator'] as const).map((view) => ({ view, theme: 'light' as const, device: 'desktop' as const })),
  ...(['queues', 'request', 'dead-letters'] as const).map((view) => ({ view, theme: 'dark' as const, device: 'desktop' as const })),
  ...(['light', 'dark'] as const).flatMap((theme) => (['queues', 'request'] as const).map((view) => ({ view, theme, device: 'phone' as const }))),
];
type View = 'queues' | 'requests' | 'request' | 'dead-letters' | 'simulator';
type Shot = (typeof SHOTS)[number];

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
}

/** Starts `openhqm <args>` and resolves with its URL once it listens. */
function start(args: readonly string[], env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, OPENHQM_SERVER__HOST: '127.0.0.1', OPENHQM_SERVER__PORT: '0', OPENHQM_MONITORING__LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n').slice(0, -1)) {
        try {
          const parsed = JSON.parse(line) as { url?: unknown };
          if (typeof parsed.url === 'string') resolve({ url: parsed.url, child });
        } catch {
          // not a log line
        }
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`openhqm ${args.join(' ')} exited (${code ?? 'signal'}) before it listened`)));
  });
}

async function post(url: string, body: unknown): Promise<{ correlation_id: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 202) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { correlation_id: string };
}

async function statusOf(url: string, id: string): Promise<string> {
  return ((await (await fetch(`${url}/api/v1/status/${id}`)).json()) as { status: string }).status;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** A few waves of traffic while the queue view is open, so its trend lines have a history. */
async function traffic(url: string, dir: string, whileOpen: Page): Promise<{ flaky: string }> {
  const submit = (payload: Record<string, unknown>, metadata: Record<string, unknown> = {}) => post(`${url}/api/v1/submit`, { payload, metadata });
  const held = join(dir, 'held.release');
  for (let wave = 0; wave < 6; wave += 1) {
    const queue = ['default', 'high', 'batched'][wave % 3] as string;
    await post(`${url}/api/v1/submit/batch`, { requests: Array.from({ length: 8 + wave * 3 }, (_, i) => ({ payload: { mode: 'echo', order: wave * 100 + i }, metadata: { queue } })) });
    await submit({ mode: 'echo', delayed: wave }, { queue: 'high', delay: 600 });
    await whileOpen.waitForTimeout(700);
  }
  for (let i = 0; i < 3; i += 1) await submit({ mode: 'until_file', marker: held }, { queue: 'batched' });
  for (let i = 0; i < 3; i += 1) await submit({ mode: 'permanent', customer: `c-${100 + i}` });
  const flaky = (await submit({ mode: 'flaky', order: 7 })).correlation_id;
  await until('the flaky request to complete', async () => (await statusOf(url, flaky)) === 'COMPLETED');
  await whileOpen.waitForTimeout(2000);
  return { flaky };
}

async function open(browser: Browser, shot: Shot, url: string): Promise<Page> {
  const context = await browser.newContext({ ...DEVICES[shot.device], colorScheme: shot.theme });
  const page = await context.newPage();
  await page.goto(url);
  return page;
}

/** Brings the view to the state worth showing, photographs it and closes its page. */
async function photograph(page: Page, shot: Shot): Promise<string> {
  switch (shot.view) {
    case 'queues':
      await page.locator('[data-testid="queues-table"]').waitFor();
      break;
    case 'requests':
      await page.locator('[data-testid="requests-table"]').waitFor();
      break;
    case 'request':
      await page.getByText('Attempt 3 started').waitFor();
      break;
    case 'dead-letters':
      await page.locator('li.letter').first().waitFor();
      await page.getByRole('button', { name: 'Edit & replay' }).first().click();
      await page.getByTestId('replay-editor').waitFor();
      break;
    case 'simulator':
      await page.getByRole('button', { name: 'Example routes' }).click();
      await page.getByRole('button', { name: 'Route it' }).click();
      await page.getByText('Routing result').waitFor();
      break;
  }
  const file = join(OUT, `dashboard-${shot.view}-${shot.theme}-${shot.device}.png`);
  // What fits the screen, as an operator sees it; the request's whole timeline on a desktop.
  await page.screenshot({ path: file, fullPage: shot.view === 'request' && shot.device === 'desktop' });
  await page.context().close();
  return file;
}

async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing !== undefined) throw new Error(missing.skip);
  mkdirSync(OUT, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'openhqm-screenshots-'));
  const children: ChildProcess[] = [];
  let browser: Browser | undefined;
  try {
    const config = join(dir, 'openhqm.yaml');
    writeFileSync(config, 'queues:\n  high: { weight: 3 }\n  batched: { weight: 1, concurrency: 1 }\n');
    const main = await start(['start', '--config', config], { OPENHQM_SQLITE__PATH: join(dir, 'openhqm.db'), OPENHQM_WORKER__PROCESSOR_MODULE: MODULE, OPENHQM_WORKER__RETRY_DELAY_BASE: '0.2', OPENHQM_API__QUEUES_STREAM_INTERVAL_SECONDS: '0.5' });
    children.push(main.child);
    const routes = join(dir, 'routes.yaml');
    writeFileSync(routes, 'version: "1.0"\nroutes:\n  - name: default\n    is_default: true\n    endpoint: http://127.0.0.1:9/\n');
    const routing = await start(['start'], {
      OPENHQM_QUEUE__TYPE: 'memory',
      OPENHQM_CACHE__TYPE: 'memory',
      OPENHQM_PROXY__ENABLED: 'true',
      OPENHQM_PROXY__DEFAULT_ENDPOINT: 'http://127.0.0.1:9/',
      OPENHQM_ROUTING__ENABLED: 'true',
      OPENHQM_ROUTING__CONFIG_PATH: routes,
    });
    children.push(routing.child);

    browser = await launchChromium();
    // The queue views are open while the traffic runs: their trend lines are what they saw.
    const watching = await Promise.all(SHOTS.filter((shot) => shot.view === 'queues').map(async (shot) => ({ shot, page: await open(browser!, shot, `${main.url}/dashboard/#/queues`) })));
    const { flaky } = await traffic(main.url, dir, watching[0]!.page);
    for (const { shot, page } of watching) console.log(await photograph(page, shot));
    for (const shot of SHOTS.filter((s) => s.view !== 'queues')) {
      const hash = shot.view === 'request' ? `#/requests/${flaky}` : `#/${shot.view}`;
      const page = await open(browser, shot, `${shot.view === 'simulator' ? routing.url : main.url}/dashboard/${hash}`);
      console.log(await photograph(page, shot));
    }
    // Let the held requests go, so the server drains quickly.
    writeFileSync(join(dir, 'held.release'), '');
  } finally {
    await browser?.close();
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)))));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
