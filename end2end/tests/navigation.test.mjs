// (a) Each demo role, at each viewport, sees exactly its main-navigation links.
// Saves a screenshot per role and viewport to end2end/screenshots/.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALL_NAV_LINKS,
  ROLES,
  VIEWPORTS,
  allVisibleNavLinkTexts,
  h1Text,
  login,
  mainNav,
  menuToggle,
  openNav,
  screenshot,
  useBrowser,
  visibleNavLinks,
  withPage,
} from './helpers.mjs';

const browser = useBrowser();

for (const vp of VIEWPORTS) {
  describe(`navigation (${vp.name})`, () => {
    for (const { username, role, links } of ROLES) {
      test(`${username} (${role}) sees ${links.join(', ')}`, { timeout: 90_000 }, async () => {
        await withPage(browser(), vp, async (page) => {
          await login(page, username);
          assert.match(await h1Text(page), /Welcome/);
          await page.getByRole('button', { name: 'Sign out', exact: true }).first().waitFor({ state: 'attached' });

          if (vp.phone) {
            // The top bar stays one line: the name, the search icon and "Sign out" fit beside it.
            const bar = await page.locator('header.topbar').boundingBox();
            assert.ok(bar.height < 64, `the top bar is one line on a phone (${bar.height}px high)`);
            // Collapsed until "Menu" is clicked.
            assert.deepEqual(
              await visibleNavLinks(page),
              [],
              'on the phone the main navigation must be collapsed behind <details class="nav-menu">',
            );
          } else {
            // Visible without clicking anything.
            assert.equal(await mainNav(page).count() > 0, true, 'no <nav aria-label="Main">');
            if (await menuToggle(page).count()) {
              assert.equal(await menuToggle(page).first().isVisible(), false, 'the "Menu" toggle shows on the desktop');
            }
          }
          await openNav(page);

          const visible = await visibleNavLinks(page);
          assert.deepEqual(visible, links, `${username} sees ${JSON.stringify(visible)}`);
          const texts = await allVisibleNavLinkTexts(page);
          assert.equal(
            texts.length,
            links.length,
            `the main navigation shows exactly ${links.length} links, found ${JSON.stringify(texts)}`,
          );
          for (const hidden of ALL_NAV_LINKS.filter((l) => !links.includes(l))) {
            assert.equal(
              await mainNav(page).getByRole('link', { name: hidden, exact: true, includeHidden: true }).count(),
              0,
              `${username} must not get a "${hidden}" link at all (not even a hidden one)`,
            );
          }
          await screenshot(page, `${username}-${vp.name}`);
        });
      });
    }
  });
}
