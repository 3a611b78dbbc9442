// Changing an entity in the browser, and browsing the catalog by domain and type.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VIEWPORTS, login, screenshot, useBrowser, visit, waitForPath, waitForText, withPage } from './helpers.mjs';

const browser = useBrowser();

for (const vp of VIEWPORTS) {
  describe(`entity editor (${vp.name})`, () => {
    test('a junior edits a service; a stale edit is refused and the text is kept', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'junior');
        const name = vp.phone ? 'payouts' : 'payment-links';
        await visit(page, `/catalog/component/default/${name}`);
        await page.getByRole('link', { name: 'Edit the descriptor' }).click();
        await waitForPath(page, `/catalog/component/default/${name}/edit`);
        const editor = page.getByLabel('Descriptor (YAML)');
        await editor.waitFor();
        const original = await editor.inputValue();
        assert.match(original, new RegExp(`name: ${name}`));
        // Someone else saves first (through the API, as another tab would).
        const version = await page.evaluate(async (n) => {
          const r = await fetch(`/api/v1/catalog/entities/component/default/${n}`);
          return (await r.json()).version;
        }, name);
        const changed = await page.evaluate(async ([n, v, text]) => {
          const r = await fetch(`/api/v1/catalog/entities/component/default/${n}?version=${v}`, {
            method: 'PUT', headers: { 'content-type': 'application/yaml' }, body: text.replace(/title: .*/, 'title: Changed elsewhere'),
          });
          return r.status;
        }, [name, version, original]);
        assert.equal(changed, 200);
        const mine = original.replace(/title: .*/, `title: My ${vp.name} title`);
        await editor.fill(mine);
        await page.getByRole('button', { name: 'Save' }).click();
        await waitForText(page, '[role="alert"]', 'since you opened it');
        assert.equal(await editor.inputValue(), mine, 'what was typed is still there');
        await screenshot(page, `entity-edit-conflict-${vp.name}`);
        // Reload, apply again: saved, and the page shows it.
        await page.reload();
        await editor.waitFor();
        await editor.fill((await editor.inputValue()).replace(/title: .*/, `title: My ${vp.name} title`));
        await page.getByRole('button', { name: 'Save' }).click();
        await waitForPath(page, `/catalog/component/default/${name}`);
        await waitForText(page, 'h1', `My ${vp.name} title`);
        await screenshot(page, `entity-page-${vp.name}`);
      });
    });

    test('browse by domain and type', async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'viewer');
        await visit(page, '/browse');
        await waitForText(page, '.cards', 'Payments');
        await screenshot(page, `browse-${vp.name}`);
        await page.getByRole('link', { name: 'openapi', exact: true }).first().click();
        await page.waitForURL((u) => u.searchParams.get('type') === 'openapi');
        await waitForText(page, 'tbody tr', 'openapi');
      });
    });
  });
}
