// (e) An API token created on /account authenticates GET /api/v1/me.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BASE_URL,
  VIEWPORTS,
  login,
  mainNav,
  openNav,
  screenshot,
  useBrowser,
  visit,
  waitForPath,
  withPage,
} from './helpers.mjs';

const browser = useBrowser();

const USERS = { desktop: 'senior', phone: 'junior' };

for (const vp of VIEWPORTS) {
  describe(`API tokens (${vp.name})`, () => {
    const username = USERS[vp.name];
    test(`${username} creates a token on /account and calls /api/v1/me with it`, { timeout: 90_000 }, async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, username);
        await openNav(page);
        await mainNav(page).getByRole('link', { name: 'Account', exact: true }).first().click();
        await waitForPath(page, '/account');

        const tokenName = `e2e-${vp.name}-${Date.now()}`;
        await page.getByLabel('Token name', { exact: true }).fill(tokenName);
        await page.getByRole('button', { name: 'Create token', exact: true }).click();
        const secretEl = page.locator('[data-testid="new-token"]');
        await secretEl.waitFor({ state: 'visible' });
        await page.waitForFunction(
          () => /plt_\S+/.test(document.querySelector('[data-testid="new-token"]')?.textContent ?? ''),
        );
        const token = (await secretEl.innerText()).trim();
        assert.match(token, /^plt_\S+$/, `new-token shows ${JSON.stringify(token)}`);
        await screenshot(page, `token-${vp.name}`);

        const res = await fetch(`${BASE_URL}/api/v1/me`, {
          headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        });
        const body = await res.text();
        assert.equal(res.status, 200, `GET /api/v1/me answered ${res.status}: ${body}`);
        const me = JSON.parse(body);
        assert.equal(me.username, username);

        // Where /api/v1/me names the user, the header must show that display name.
        const displayName = me.display_name ?? me.displayName;
        if (typeof displayName === 'string' && displayName) {
          assert.ok(
            (await page.locator('header').first().innerText()).includes(displayName),
            `the header does not show the display name ${JSON.stringify(displayName)}`,
          );
        }

        // A made-up token must not authenticate.
        const bad = await fetch(`${BASE_URL}/api/v1/me`, {
          headers: { Authorization: `Bearer ${token.slice(0, -2)}xx` },
        });
        assert.notEqual(bad.status, 200, 'a wrong token was accepted');

        // The secret is shown once only.
        await visit(page, '/account');
        assert.equal(
          (await page.content()).includes(token),
          false,
          'the token secret is still shown after reloading /account',
        );
      });
    });
  });
}
