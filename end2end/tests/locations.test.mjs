// An admin registers a git repository on this machine as a catalog location, sees what it
// provided, and refreshes it after an entity vanished (which is then marked orphaned).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { VIEWPORTS, login, screenshot, useBrowser, visit, waitForText, withPage } from './helpers.mjs';

const browser = useBrowser();

const component = (name) => `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ${name}
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: platform
`;

function repository(suffix) {
  const root = mkdtempSync(join(tmpdir(), `loc-${suffix}-`));
  execFileSync('git', ['init', '-q', root]);
  writeFileSync(join(root, 'catalog-info.yaml'), `${component(`geo-${suffix}`)}---\n${component(`maps-${suffix}`)}`);
  mkdirSync(join(root, 'docs'));
  writeFileSync(join(root, 'docs', 'index.md'), `# Geo ${suffix}\n\n## Overview\n\nWhere things are.`);
  return root;
}

for (const vp of VIEWPORTS) {
  describe(`locations (${vp.name})`, () => {
    test('an admin registers a repository, and a vanished entity becomes an orphan', async () => {
      const suffix = `${vp.name}-${process.pid}`;
      const root = repository(suffix);
      await withPage(browser(), vp, async (page) => {
        await login(page, 'admin');
        await visit(page, '/catalog/locations');
        await page.getByLabel('File or folder (absolute path)').fill(root);
        await page.getByRole('button', { name: 'Register and read' }).click();
        await waitForText(page, '[role="status"]', '2 created');
        const card = page.locator('.location', { hasText: root });
        await card.getByText('2 entities · 0 orphaned').waitFor();
        writeFileSync(join(root, 'catalog-info.yaml'), component(`geo-${suffix}`));
        await card.getByRole('button', { name: 'Refresh now' }).click();
        await waitForText(page, '[role="status"]', '1 orphaned');
        await screenshot(page, `locations-${vp.name}`);
        await visit(page, `/catalog?owner=group%3Adefault%2Fplatform`);
        await waitForText(page, 'tbody', `maps-${suffix}`);
        assert.ok(await page.locator('tbody tr', { hasText: `maps-${suffix}` }).locator('.badge.warn').count() === 1, 'the orphan is marked in the list');
      });
    });
  });
}
