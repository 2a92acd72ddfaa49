/**
 * Debian's Chromium (`apt-get install chromium`), driven by playwright-core: the dashboard's
 * end-to-end test and `npm run dashboard:screenshots` use it. Never a browser download: the
 * binary is the machine's, launched headless with --no-sandbox (tests run as root in CI).
 * No vitest here, so the screenshot script can use it too.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.OPENHQM_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can; under CI=true a missing browser throws. */
export function chromiumMissing(): { skip: string } | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `${CHROMIUM_PATH} is not installed`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: apt-get install chromium)`);
  return { skip: `${reason}; apt-get install chromium to run the dashboard's browser tests` };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
