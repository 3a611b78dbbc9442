// (f) The admin's audit log lists the login that just happened.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  VIEWPORTS,
  assertNoHorizontalOverflow,
  login,
  mainNav,
  openNav,
  screenshot,
  useBrowser,
  waitForPath,
  waitForText,
  withPage,
} from './helpers.mjs';

const browser = useBrowser();

for (const vp of VIEWPORTS) {
  describe(`audit log (${vp.name})`, () => {
    test('admin sees an auth.login row for the login that just happened', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'admin');
        await openNav(page);
        await mainNav(page).getByRole('link', { name: 'Audit log', exact: true }).first().click();
        await waitForPath(page, '/audit');
        const row = await waitForText(page, 'table tr', 'auth.login');
        assert.ok(row, 'a table row with auth.login');
        await assertNoHorizontalOverflow(page);
        await screenshot(page, `audit-${vp.name}`);
      });
    });
  });
}
