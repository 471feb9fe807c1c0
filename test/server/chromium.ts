import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { WAIT_MS } from './helpers.js';

/** Debian's Chromium, driven by playwright-core (tools that download their own browser do not work here). */
export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const inCi = process.env.CI === 'true';
const chromiumMissing = !existsSync(CHROMIUM);

/**
 * The `skip` option of a browser suite: a reason when Chromium is not installed, except under
 * CI=true, where the suite runs and `launchChromium` fails instead.
 */
export const skipWithoutChromium: string | false =
  chromiumMissing && !inCi
    ? `${CHROMIUM} is not installed (apt-get install -y chromium); the browser test cannot run`
    : false;

export async function launchChromium(): Promise<Browser> {
  if (chromiumMissing) {
    throw new Error(`CI=true but ${CHROMIUM} is missing: install the chromium package before the tests`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: WAIT_MS });
}
