// A Team Lead manages the team's members in the browser, and the theme choice sticks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VIEWPORTS, login, openNav, screenshot, useBrowser, visit, waitForText, withPage } from './helpers.mjs';

const browser = useBrowser();

for (const vp of VIEWPORTS) {
  describe(`teams and theme (${vp.name})`, () => {
    test('the lead of Payments adds a member, and cannot grant Team Lead', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'lead');
        await visit(page, '/teams/payments');
        // Only roles below Team Lead are offered to a Team Lead.
        const offered = await page.locator('#member-role option').allInnerTexts();
        assert.deepEqual(offered, ['Viewer', 'Junior Developer', 'Senior Developer']);
        // `admin` is not in Payments yet: add them as a Viewer.
        await page.getByLabel('Username', { exact: true }).fill('admin');
        await page.locator('#member-role').selectOption('viewer');
        await page.getByRole('button', { name: 'Add member' }).click();
        await waitForText(page, 'table tr', 'Ada Admin');
        await waitForText(page, 'h2', 'Members (5)');
        // A username that does not exist is reported next to the field, and what was typed stays.
        await page.getByLabel('Username', { exact: true }).fill('nobody-here');
        await page.getByRole('button', { name: 'Add member' }).click();
        await waitForText(page, '.field-error', 'There is no user named nobody-here');
        assert.equal(await page.getByLabel('Username', { exact: true }).inputValue(), 'nobody-here');
        await screenshot(page, `team-${vp.name}`);
      });
    });

    test('choosing the dark theme sticks across pages', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'viewer');
        await openNav(page);
        await page.getByRole('button', { name: 'Dark', exact: true }).first().click();
        await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
        await visit(page, '/teams');
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
        const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.equal(bg, 'rgb(15, 18, 24)', 'the dark background is applied');
      });
    });
  });
}
