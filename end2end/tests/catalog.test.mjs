// Finding and adding services: import YAML, see each document's outcome, open the entity,
// follow a relation, and narrow the list with a facet.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VIEWPORTS, login, screenshot, useBrowser, visit, waitForPath, waitForText, withPage } from './helpers.mjs';

const browser = useBrowser();

const yaml = (suffix) => `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: refunds-${suffix}
  title: Refunds ${suffix}
  description: Gives money back.
  tags: [rust]
spec:
  type: service
  lifecycle: production
  owner: payments
  providesApis: [refunds-api-${suffix}]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: refunds-api-${suffix}
spec:
  type: openapi
  lifecycle: production
  owner: payments
  definition: "openapi: 3.0.0"
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: Bad Name ${suffix}
spec: {type: service, lifecycle: production, owner: payments}
`;

for (const vp of VIEWPORTS) {
  describe(`catalog (${vp.name})`, () => {
    test('a lead imports YAML, opens the new service and follows its API', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'lead');
        await visit(page, '/catalog/import');
        await page.getByLabel('Catalog YAML').fill(yaml(vp.name));
        await page.getByRole('button', { name: 'Apply' }).click();
        await waitForText(page, '[role="status"]', '2 created, 0 updated, 0 unchanged, 1 with errors.');
        await waitForText(page, '.outcome.error', 'metadata.name');
        // What was pasted is still there after the result comes back.
        assert.match(await page.getByLabel('Catalog YAML').inputValue(), /refunds-api-/);
        await screenshot(page, `catalog-import-${vp.name}`);

        await page.getByRole('link', { name: `component:default/refunds-${vp.name}` }).click();
        await waitForPath(page, `/catalog/component/default/refunds-${vp.name}`);
        await waitForText(page, 'h1', `Refunds ${vp.name}`);
        await waitForText(page, '.relations', 'providesApi');
        await page.getByRole('link', { name: `refunds-api-${vp.name}` }).first().click();
        await waitForPath(page, `/catalog/api/default/refunds-api-${vp.name}`);
        await waitForText(page, '.relations', 'apiProvidedBy');
        await screenshot(page, `catalog-entity-${vp.name}`);
      });
    });

    test('the list narrows by facet, and the filter is in the URL', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'viewer');
        await visit(page, '/catalog?kind=API');
        const kinds = await page.locator('tbody tr td:nth-child(2)').allInnerTexts();
        assert.ok(kinds.length > 0, 'some APIs are listed');
        assert.ok(kinds.every((k) => k === 'API'), `only APIs: ${kinds}`);
        if (vp.phone) {
          // Each entity reads as a block the width of the screen, nothing to scroll sideways.
          const wrap = await page.locator('.table-wrap').evaluate((w) => ({ scroll: w.scrollWidth, client: w.clientWidth }));
          assert.ok(wrap.scroll <= wrap.client, `no sideways scrolling: ${JSON.stringify(wrap)}`);
          const name = await page.locator('tbody tr td:first-child').first().boundingBox();
          assert.ok(name.width > 300, `the name and description take the whole width: ${name.width}`);
          await page.locator('details.filters-panel > summary').click();
        }
        await page.getByRole('link', { name: /^Component\s*\d+$/ }).first().click();
        await page.waitForURL((u) => u.searchParams.get('kind') === 'Component');
        await waitForText(page, 'tbody tr', 'Component');
        await screenshot(page, `catalog-list-${vp.name}`);
      });
    });

    test('the list sorts by name or by last change, and the order is in the URL with the filter', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'viewer');
        await visit(page, '/catalog?kind=Component');
        const sort = page.getByRole('navigation', { name: 'Sort' });
        assert.equal(await sort.getByRole('link', { name: 'Kind' }).getAttribute('aria-current'), 'true');
        await sort.getByRole('link', { name: 'Name' }).click();
        await page.waitForURL((u) => u.searchParams.get('sort') === 'name' && u.searchParams.get('kind') === 'Component');
        await page.waitForFunction(() => document.querySelector('nav[aria-label="Sort"] a[aria-current="true"]')?.textContent === 'Name');
        const names = (await page.locator('tbody tr td:first-child > a').evaluateAll((as) => as.map((a) => decodeURIComponent(a.getAttribute('href').split('/').pop()))));
        assert.ok(names.length > 1, 'components are listed');
        assert.deepEqual(names, [...names].sort(), 'A to Z by name');
        await sort.getByRole('link', { name: 'Recently updated' }).click();
        await page.waitForURL((u) => u.searchParams.get('sort') === 'updated' && u.searchParams.get('kind') === 'Component');
        await waitForText(page, 'nav[aria-label="Sort"] a[aria-current="true"]', 'Recently updated');
        await screenshot(page, `catalog-sorted-${vp.name}`);
      });
    });
  });
}

describe('catalog import from a file', () => {
  test('a chosen file fills the box, then applies', async () => {
    await withPage(browser(), VIEWPORTS[0], async (page) => {
      await login(page, 'lead');
      await visit(page, '/catalog/import');
      await page.getByLabel('Upload a file').setInputFiles({ name: 'catalog-info.yaml', mimeType: 'application/yaml', buffer: Buffer.from(yaml('upload').split('---')[0]) });
      await page.waitForFunction(() => document.querySelector('#catalog-yaml').value.includes('refunds-upload'));
      await page.getByRole('button', { name: 'Apply' }).click();
      await waitForText(page, '[role="status"]', '1 created');
    });
  });
});
