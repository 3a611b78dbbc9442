// Finding a service by search: suggestions as you type (desktop, with the `/` shortcut), the
// results page (phone, from the search icon), a typo forgiven, docs read with their table of
// contents, and the admin's search analytics counting what was opened.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VIEWPORTS, login, screenshot, useBrowser, visit, waitForPath, waitForText, withPage } from './helpers.mjs';

const browser = useBrowser();

for (const vp of VIEWPORTS) {
  describe(`search (${vp.name})`, () => {
    test('find a service by search and open it', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'viewer');
        if (vp.phone) {
          // On a phone the top bar has a search icon that opens the search page.
          await page.getByRole('link', { name: 'Search', exact: true }).click();
          await waitForPath(page, '/search');
          await page.getByLabel('Search for').fill('card vault');
          await page.getByRole('button', { name: 'Search' }).click();
        } else {
          // `/` focuses the box from anywhere; suggestions appear as you type.
          await page.keyboard.press('/');
          await page.keyboard.type('card-va');
          const box = page.getByRole('combobox', { name: 'Search the catalog and docs' });
          assert.equal(await box.evaluate((el) => el === document.activeElement), true, '/ focused the search box');
          await page.getByRole('option').first().waitFor();
          assert.match(await page.getByRole('option').first().innerText(), /Card Vault/);
          await screenshot(page, `search-suggestions-${vp.name}`);
          await page.keyboard.press('Enter'); // no suggestion chosen: the results page
        }
        await page.waitForURL((u) => u.pathname === '/search' && u.searchParams.get('q') !== null);
        await waitForText(page, '.hits', 'Card Vault');
        const first = page.locator('.hit-title').first();
        assert.match(await first.innerText(), /Card Vault/);
        assert.ok(await page.locator('.hit mark').count() > 0, 'matches are highlighted');
        await screenshot(page, `search-results-${vp.name}`);
        await first.click();
        await waitForPath(page, '/catalog/component/default/card-vault');
        await waitForText(page, 'h1', 'Card Vault');
      });
    });

    test('a typo is forgiven and docs are found and read', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'junior');
        await visit(page, '/search?q=ledgr');
        await waitForText(page, '[role="status"]', 'No exact match');
        await waitForText(page, '.hits', 'Ledger');
        await visit(page, '/search?q=being%20on%20call&kind=Doc');
        await page.locator('.hit-title', { hasText: 'Being on call' }).click();
        await waitForPath(page, '/docs/guides/on-call');
        await waitForText(page, 'nav[aria-label="On this page"]', 'During an incident');
        await screenshot(page, `docs-page-${vp.name}`);
      });
    });
  });
}

describe('search analytics', () => {
  for (const vp of VIEWPORTS) {
    test(`the admin sees searches, success rate and a chart of each day (${vp.name})`, async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'admin');
        await visit(page, '/search?q=payouts');
        await page.locator('.hit-title').first().click();
        await page.waitForURL((u) => u.pathname.startsWith('/catalog/'));
        await visit(page, '/admin/search?days=7');
        await waitForText(page, '.figures', 'Search success rate');
        const chart = page.getByRole('img', { name: /Searches per day/ });
        assert.equal(await chart.locator('.bar-col').count(), 7, 'one bar per day of the week');
        // Today's bar, the last, is labelled with its day and counts the search just made.
        const today = chart.locator('.bar-col').last();
        const day = new Date().toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
        assert.equal(await today.locator('.bar-day').innerText(), day);
        assert.ok(Number(await today.locator('.bar-value').innerText()) >= 1, 'today counts the search');
        assert.ok((await today.locator('.bar-all').boundingBox()).height > 20, 'and its bar is drawn');
        const labels = await chart.locator('.bar-day').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()));
        assert.ok(labels.every((r, i) => i === 0 || r.left >= labels[i - 1].right), 'day labels do not overlap');
        await waitForText(page, 'table', 'payouts');
        const wrap = await page.locator('.table-wrap').first().evaluate((w) => ({ scroll: w.scrollWidth, client: w.clientWidth }));
        assert.ok(wrap.scroll <= wrap.client, `the queries table fits without sideways scrolling: ${JSON.stringify(wrap)}`);
        await screenshot(page, `search-analytics-${vp.name}`);
      });
    });
  }
});
