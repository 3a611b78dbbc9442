// Shared helpers for the browser tests (node:test + playwright-core + Debian's chromium).
//
// BASE_URL   the running portal (scripts/test.sh starts one and sets it)
// CHROMIUM   browser executable [/usr/bin/chromium]
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const BASE_URL = (process.env.BASE_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
export const PASSWORD = 'demo-password';
export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'screenshots');

/** Every test runs once per viewport. */
export const VIEWPORTS = [
  { name: 'desktop', phone: false, options: { viewport: { width: 1280, height: 800 } } },
  {
    name: 'phone',
    phone: true,
    options: {
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    },
  },
];

/** Demo accounts (all with PASSWORD) and the main-navigation links each must see. */
const EVERYONE = ['Home', 'Catalog', 'Browse', 'Docs', 'Workflows', 'Teams', 'Account'];
export const ROLES = [
  { username: 'viewer', role: 'Viewer', links: [...EVERYONE] },
  { username: 'junior', role: 'Junior Developer', links: [...EVERYONE] },
  { username: 'senior', role: 'Senior Developer', links: [...EVERYONE] },
  { username: 'lead', role: 'Team Lead (payments)', links: [...EVERYONE, 'Audit log'] },
  { username: 'admin', role: 'Platform Admin', links: [...EVERYONE, 'Audit log', 'Users', 'Locations', 'Search analytics'] },
];
export const ALL_NAV_LINKS = ['Home', 'Catalog', 'Browse', 'Docs', 'Workflows', 'Teams', 'Account', 'Audit log', 'Users', 'Locations', 'Search analytics'];

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Launches one browser for the calling test file (before all its tests) and closes it
 * afterwards. Returns a getter: `const browser = useBrowser(); ... browser()`.
 */
export function useBrowser() {
  let browser;
  before(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: LAUNCH_ARGS,
    });
  });
  after(async () => {
    await browser?.close();
  });
  return () => {
    assert.ok(browser, 'browser not launched');
    return browser;
  };
}

/**
 * Runs fn(page, context) in a fresh context (no cookies) at the given viewport, and closes
 * it afterwards. Uncaught page errors (a WASM panic during hydration, say) fail the test.
 */
export async function withPage(browser, vp, fn, { javaScriptEnabled = true } = {}) {
  const context = await browser.newContext({ ...vp.options, javaScriptEnabled });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(30_000);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(String(err?.stack ?? err)));
  page.vp = vp;
  page.jsEnabled = javaScriptEnabled;
  try {
    await fn(page, context);
    assert.deepEqual(pageErrors, [], `uncaught errors in the page:\n${pageErrors.join('\n')}`);
  } finally {
    await context.close();
  }
}

/**
 * page.goto that, with JavaScript on, waits until the network is idle so that the WASM
 * bundle has loaded and hydrated before the test interacts with the page.
 */
export async function visit(page, path) {
  const res = await page.goto(BASE_URL + path, {
    waitUntil: page.jsEnabled === false ? 'load' : 'networkidle',
  });
  await assertNoHorizontalOverflow(page);
  return res;
}

/** Waits until the page's path is `path` (query string ignored). */
export async function waitForPath(page, path) {
  await page.waitForURL((url) => url.pathname === path, {
    waitUntil: page.jsEnabled === false ? 'load' : 'networkidle',
  });
}

export function pathOf(page) {
  return new URL(page.url()).pathname;
}

/** Signs in through the login form and waits for the home page. */
export async function login(page, username, password = PASSWORD) {
  await visit(page, '/login');
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await waitForPath(page, '/');
  await assertNoHorizontalOverflow(page);
}

/** The main navigation's <details class="nav-menu"> toggle (phone layout). */
export function menuToggle(page) {
  return page.locator('details.nav-menu > summary');
}

/**
 * Makes the main navigation's links visible: on the phone it opens the collapsed menu
 * (its summary is named "Menu"); on the desktop the links must already be visible.
 */
export async function openNav(page) {
  if (page.vp?.phone) {
    const summary = menuToggle(page);
    await summary.waitFor({ state: 'visible' });
    const name = ((await summary.getAttribute('aria-label')) ?? (await summary.innerText())).trim();
    assert.match(name, /\bMenu\b/, `the menu toggle's accessible name is "${name}", want "Menu"`);
    const open = await summary.evaluate((el) => el.parentElement.open);
    if (!open) await summary.click();
    await page.waitForFunction(() => document.querySelector('details.nav-menu')?.open === true);
  }
  await mainNav(page).getByRole('link', { name: 'Home', exact: true }).first().waitFor({ state: 'visible' });
}

/** All <nav aria-label="Main"> elements (CSS, so that a nav inside a closed <details> matches too). */
export function mainNav(page) {
  return page.locator('nav[aria-label="Main"]');
}

/** Names of the visible links of the main navigation, by accessible name (checked below). */
export async function visibleNavLinks(page) {
  const found = [];
  for (const name of ALL_NAV_LINKS) {
    const links = mainNav(page).getByRole('link', { name, exact: true });
    const n = await links.count();
    for (let i = 0; i < n; i++) {
      if (await links.nth(i).isVisible()) {
        found.push(name);
        break;
      }
    }
  }
  return found;
}

/** Texts of every visible link in the main navigation (to catch unexpected extra links). */
export async function allVisibleNavLinkTexts(page) {
  return page.$$eval('nav[aria-label="Main"] a', (links) =>
    links
      .filter((a) => a.checkVisibility() && a.getClientRects().length > 0)
      .map((a) => (a.getAttribute('aria-label') ?? a.textContent).trim().replace(/\s+/g, ' ')),
  );
}

/** The page must not scroll sideways (and on the phone must lay out at device width). */
export async function assertNoHorizontalOverflow(page) {
  const m = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  const where = `${pathOf(page)} (${page.vp?.name ?? '?'})`;
  if (page.vp?.phone) {
    assert.ok(
      m.innerWidth <= page.vp.options.viewport.width + 1,
      `${where}: layout viewport is ${m.innerWidth}px wide on a ${page.vp.options.viewport.width}px phone: ` +
        'either content wider than the screen made the mobile browser zoom out, or ' +
        '<meta name="viewport" content="width=device-width, initial-scale=1"> is missing',
    );
  }
  assert.ok(
    m.scrollWidth <= m.innerWidth + 1,
    `${where}: page overflows horizontally (scrollWidth ${m.scrollWidth} > innerWidth ${m.innerWidth})`,
  );
}

/** Waits until some element matching `selector` contains `text`; returns its locator. */
export async function waitForText(page, selector, text, timeout = 15_000) {
  const loc = page.locator(selector).filter({ hasText: text }).first();
  try {
    await loc.waitFor({ state: 'visible', timeout });
  } catch (err) {
    const seen = await page.locator(selector).allInnerTexts().catch(() => []);
    throw new Error(
      `no visible ${selector} containing ${JSON.stringify(text)} on ${page.url()}; ` +
        `found: ${JSON.stringify(seen)}\n${err.message}`,
    );
  }
  return loc;
}

export async function h1Text(page) {
  return (await page.locator('h1').first().innerText()).trim();
}

/** Clicks "Sign out" (opening the phone menu first if the button lives inside it). */
export async function signOut(page) {
  const button = page.getByRole('button', { name: 'Sign out', exact: true });
  if (!(await button.first().isVisible())) await openNav(page);
  await button.first().click();
  await waitForPath(page, '/login');
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
