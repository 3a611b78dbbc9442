// (b) wrong password, (c) sign-in without JavaScript, (d) sign out, (g) signed-out redirect.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BASE_URL,
  VIEWPORTS,
  h1Text,
  login,
  openNav,
  pathOf,
  screenshot,
  signOut,
  useBrowser,
  visit,
  waitForPath,
  waitForText,
  withPage,
} from './helpers.mjs';

const browser = useBrowser();

for (const vp of VIEWPORTS) {
  describe(`login (${vp.name})`, () => {
    test('the login form has labelled fields and a Sign in button', async () => {
      await withPage(browser(), vp, async (page) => {
        await visit(page, '/login');
        const form = page.locator('form').filter({ has: page.locator('#username') });
        assert.equal(await form.count(), 1, 'one <form> holding #username');
        assert.equal(await page.getByLabel('Username', { exact: true }).getAttribute('id'), 'username');
        assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('id'), 'password');
        assert.equal(await page.locator('#username').getAttribute('name'), 'username');
        assert.equal(await page.locator('#password').getAttribute('name'), 'password');
        assert.equal(await page.locator('#password').getAttribute('type'), 'password');
        const button = form.getByRole('button', { name: 'Sign in', exact: true });
        assert.equal(await button.getAttribute('type'), 'submit');
        await screenshot(page, `login-${vp.name}`);
      });
    });

    test('a wrong password shows an alert and keeps the username', async () => {
      await withPage(browser(), vp, async (page) => {
        await visit(page, '/login');
        await page.locator('#username').fill('senior');
        await page.locator('#password').fill('not-the-password');
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await waitForText(page, '[role="alert"]', 'Wrong username or password');
        assert.equal(pathOf(page), '/login');
        assert.equal(await page.locator('#username').inputValue(), 'senior');
        await visit(page, '/');
        assert.equal(pathOf(page), '/login', 'a failed sign-in must not sign anyone in');
      });
    });

    test('signing in works with JavaScript disabled', async () => {
      await withPage(
        browser(),
        vp,
        async (page) => {
          await visit(page, '/login');
          await page.locator('#username').fill('junior');
          await page.locator('#password').fill('demo-password');
          await page.getByRole('button', { name: 'Sign in', exact: true }).click();
          await waitForPath(page, '/');
          assert.match(await h1Text(page), /Welcome/);
          // The phone menu is a plain <details>: it opens without JavaScript too.
          await openNav(page);
          await screenshot(page, `nojs-home-${vp.name}`);
        },
        { javaScriptEnabled: false },
      );
    });

    test('Sign out lands on /login and ends the session', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'viewer');
        await signOut(page);
        assert.equal(pathOf(page), '/login');
        await visit(page, '/');
        assert.equal(pathOf(page), '/login', 'after signing out, / must redirect to /login again');
      });
    });

    test('signed out, every page redirects to /login', async () => {
      await withPage(browser(), vp, async (page) => {
        for (const path of ['/', '/teams', '/account', '/audit', '/users']) {
          await visit(page, path);
          assert.equal(pathOf(page), '/login', `${path} while signed out ended on ${page.url()}`);
          await page.locator('#username').waitFor({ state: 'visible' });
        }
      });
    });
  });
}

test('signed out, the server itself redirects / to /login (no JavaScript involved)', async () => {
  const res = await fetch(`${BASE_URL}/`, { redirect: 'manual' });
  assert.ok([302, 303, 307].includes(res.status), `GET / answered ${res.status}, want a redirect`);
  const location = new URL(res.headers.get('location'), BASE_URL);
  assert.equal(location.pathname, '/login');
});
