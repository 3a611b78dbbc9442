// Workflows: a junior starts the demo release and watches it live (retries in the log, then the
// wait for approval) without reloading; the lead approves it from another browser and the
// junior's page follows; a senior rolls it back; a viewer sees no buttons; a release whose smoke
// tests fail rolls back by itself, is retried and cancelled; start-form errors sit next to their
// fields (with and without JavaScript); an admin creates a webhook source and sees a signed
// delivery arrive.
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  BASE_URL,
  VIEWPORTS,
  assertNoHorizontalOverflow,
  login,
  screenshot,
  useBrowser,
  visit,
  waitForText,
  withPage,
} from './helpers.mjs';

const browser = useBrowser();
const DEMO = 'Release a service (demo)';
// The demo release takes ~5 s to reach its approval (two failed preflight attempts, a 2 s bake).
const SLOW = 45_000;

function releaseCard(page) {
  return page.locator('li.workflow', { hasText: DEMO });
}

/** Starts the demo release for team payments from /workflows; returns the run page's path. */
async function startRelease(page, { smokeTestsPass = true } = {}) {
  await visit(page, '/workflows');
  const card = releaseCard(page);
  await card.getByLabel('Team').selectOption('payments');
  if (!smokeTestsPass) {
    // Progressive disclosure: the switch is under "More options".
    const box = card.getByLabel('Smoke tests pass');
    assert.equal(await box.isVisible(), false, '"Smoke tests pass" is folded away under More options');
    await card.locator('summary', { hasText: 'More options' }).click();
    await box.uncheck();
  }
  await card.getByRole('button', { name: 'Start run' }).click();
  await page.waitForURL((u) => u.pathname.startsWith('/runs/'), { waitUntil: page.jsEnabled === false ? 'load' : 'networkidle' });
  await waitForText(page, 'h1', DEMO);
  return new URL(page.url()).pathname;
}

/** A run of the demo release started through the REST API with the page's session. */
async function startReleaseByApi(page, inputs = {}) {
  const res = await page.request.post(`${BASE_URL}/api/v1/workflows/demo-release/runs`, {
    headers: { Origin: BASE_URL },
    data: { team: 'payments', inputs },
  });
  assert.ok(res.ok(), `starting a run answered ${res.status()}: ${await res.text()}`);
  return `/runs/${(await res.json()).run.id}`;
}

/** Marks the page so that a later check can tell it was not reloaded. */
async function markPage(page) {
  await page.evaluate(() => {
    window.__notReloaded = true;
  });
}

async function assertNotReloaded(page) {
  assert.equal(await page.evaluate(() => window.__notReloaded === true), true, 'the page was reloaded');
}

async function approveAs(browserInstance, vp, username, runPath, comment, { javaScriptEnabled = true } = {}) {
  await withPage(
    browserInstance,
    vp,
    async (page) => {
      await login(page, username);
      await visit(page, runPath);
      await page.getByLabel('Comment (optional)').fill(comment);
      await page.getByRole('button', { name: 'Approve', exact: true }).click();
      if (javaScriptEnabled) {
        // A release whose smoke tests fail goes on to roll back instead of succeeding.
        await waitForText(page, '.run-status', /Succeeded|Rolling back|Rolled back/, SLOW);
      } else {
        // Without JavaScript the form posts and the run's page comes back, approved.
        await page.waitForURL((u) => u.pathname === runPath && u.searchParams.get('__err') === null);
        await page.getByRole('log').getByText(`Approved by ${username}: ${comment}`).waitFor();
        assert.equal(await page.getByRole('button', { name: 'Approve', exact: true }).count(), 0, 'no second approval');
      }
    },
    { javaScriptEnabled },
  );
}

for (const vp of VIEWPORTS) {
  describe(`workflows (${vp.name})`, () => {
    test('a release runs live, the lead approves it from elsewhere, a senior rolls it back', { timeout: 180_000 }, async () => {
      await withPage(browser(), vp, async (page) => {
        await login(page, 'junior');
        await visit(page, '/workflows');
        await screenshot(page, `workflows-${vp.name}`);
        const runPath = await startRelease(page);
        await markPage(page);

        // Without reloading: the retries appear in the log and the step shows its attempts,
        // then the run waits for the Team Lead.
        const log = page.getByRole('log');
        await log.getByText(/attempt 1 failed/).waitFor({ timeout: SLOW });
        await waitForText(page, '.run-status', 'Waiting', SLOW);
        await waitForText(page, '.step', 'Waiting for approval', SLOW);
        await waitForText(page, '.step', 'attempt 3 of 4');
        await waitForText(page, '.approval-note', 'Team Lead');
        // The starter may cancel, but neither approve their own run nor roll it back.
        await page.getByRole('button', { name: 'Cancel run' }).waitFor();
        assert.equal(await page.getByRole('button', { name: 'Approve', exact: true }).count(), 0, 'the starter cannot approve');
        assert.equal(await page.getByRole('button', { name: 'Roll back' }).count(), 0, 'a junior cannot roll back');
        await assertNoHorizontalOverflow(page);
        await screenshot(page, `run-waiting-${vp.name}`);

        // The lead approves in another browser; this page follows by itself.
        await approveAs(browser(), vp, 'lead', runPath, 'Ship it');
        await waitForText(page, '.run-status', 'Succeeded', SLOW);
        await log.getByText('Approved by lead: Ship it').waitFor({ timeout: SLOW });
        await waitForText(page, '.step', 'decided by lead');
        await assertNotReloaded(page);
        await assertNoHorizontalOverflow(page);

        // A senior developer rolls it back and watches the steps being undone.
        await withPage(browser(), vp, async (senior) => {
          await login(senior, 'senior');
          await visit(senior, runPath);
          await senior.getByRole('button', { name: 'Roll back' }).click();
          await waitForText(senior, '.run-status', 'Rolled back', SLOW);
          await waitForText(senior, '.step', 'Undone', SLOW);
          const tag = senior.locator('.step', { hasText: 'Tag the release' });
          await tag.getByText('Undone').waitFor({ timeout: SLOW });
          await waitForText(senior, '.rollback-reason', 'Rolled back by senior');
          await senior.getByRole('log').getByText("Undid 'Tag the release'").waitFor({ timeout: SLOW });
          await assertNoHorizontalOverflow(senior);
          await screenshot(senior, `run-rolled-back-${vp.name}`);
        });
      });
    });

    test('a viewer sees runs but no buttons, and cannot start a workflow', { timeout: 90_000 }, async () => {
      let runPath;
      await withPage(browser(), vp, async (page) => {
        await login(page, 'junior');
        runPath = await startReleaseByApi(page);
      });
      await withPage(browser(), vp, async (page) => {
        await login(page, 'viewer');
        await visit(page, runPath);
        await waitForText(page, 'h1', DEMO);
        await page.locator('.step').first().waitFor();
        assert.equal(await page.locator('main button').count(), 0, 'a viewer gets no button on a run page');
        await visit(page, '/workflows');
        const card = releaseCard(page);
        await card.getByText('You cannot start this workflow').waitFor();
        assert.equal(await card.getByRole('button', { name: 'Start run' }).count(), 0);
        // The runs list links to the run.
        await page.locator('.runs-table a', { hasText: DEMO }).first().waitFor();
      });
    });
  });
}

describe('workflows: failures, retry, cancel', () => {
  test('a release whose smoke tests fail rolls back by itself; a retry can be cancelled', { timeout: 180_000 }, async () => {
    const vp = VIEWPORTS[0];
    await withPage(browser(), vp, async (page) => {
      await login(page, 'junior');
      const runPath = await startRelease(page, { smokeTestsPass: false });
      await markPage(page);
      await waitForText(page, '.step', 'Waiting for approval', SLOW);
      // The lead's browser runs no JavaScript: the approval is a plain form post.
      await approveAs(browser(), vp, 'lead', runPath, 'Go', { javaScriptEnabled: false });
      // Smoke tests fail for good: the run undoes what it did without anyone asking.
      await waitForText(page, '.run-status', 'Rolled back', SLOW);
      await waitForText(page, '.rollback-reason', 'Smoke tests failed');
      await waitForText(page, '.step', 'Undone');
      await assertNotReloaded(page);

      // Retry starts a new run with the same inputs; cancelling it stops it.
      await page.getByRole('button', { name: 'Retry' }).click();
      await page.waitForURL((u) => u.pathname.startsWith('/runs/') && u.pathname !== runPath);
      await waitForText(page, '.run-facts', 'Retry of');
      await page.getByRole('button', { name: 'Cancel run' }).click();
      await waitForText(page, '.run-status', 'Cancelled', SLOW);
    });
  });

  test('the runs list filters by status and workflow in the URL', { timeout: 60_000 }, async () => {
    await withPage(browser(), VIEWPORTS[0], async (page) => {
      await login(page, 'junior');
      await visit(page, '/workflows');
      await page.getByLabel('Status').selectOption('rolled_back');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL((u) => u.searchParams.get('status') === 'rolled_back');
      await page.locator('.runs-table tbody tr').first().waitFor();
      const statuses = await page.locator('.runs-table tbody td[data-label="Status"]').allInnerTexts();
      assert.ok(statuses.length > 0 && statuses.every((s) => s.includes('Rolled back')), JSON.stringify(statuses));
      await visit(page, '/workflows?workflow=portal-self-check&status=succeeded&started_by=nobody-at-all');
      await waitForText(page, '.runs [role="status"]', 'No runs match');
    });
  });
});

describe('workflows: start form errors', () => {
  const NAME = `e2e-inputs-${process.pid}`;
  const definition = `name: ${NAME}
title: Form check ${process.pid}
description: A workflow created by the browser tests.
inputs:
  - name: ticket
    title: Ticket
    required: true
  - name: replicas
    title: Replicas
    type: number
    default: 2
  - name: notes
    title: Notes
    advanced: true
steps:
  - id: nothing
    type: noop
`;

  for (const javaScriptEnabled of [true, false]) {
    test(`errors sit next to their fields and typed values stay (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, { timeout: 90_000 }, async () => {
      await withPage(browser(), VIEWPORTS[0], async (page) => {
        await login(page, 'admin');
        const res = await page.request.put(`${BASE_URL}/api/v1/workflows/${NAME}`, {
          headers: { Origin: BASE_URL, 'Content-Type': 'application/yaml' },
          data: definition,
        });
        assert.ok(res.ok(), `PUT workflow answered ${res.status()}: ${await res.text()}`);
      });
      await withPage(
        browser(),
        VIEWPORTS[0],
        async (page) => {
          await login(page, 'junior');
          await visit(page, '/workflows');
          const card = page.locator('li.workflow', { hasText: `Form check ${process.pid}` });
          await card.getByLabel('Replicas').fill('5');
          // The browser would stop an empty required field itself; the server must say it too.
          await card.locator('form').evaluate((f) => {
            f.noValidate = true;
          });
          await card.getByRole('button', { name: 'Start run' }).click();
          const error = page.locator('li.workflow', { hasText: `Form check ${process.pid}` }).locator('.field-error');
          await error.first().waitFor({ timeout: 15_000 });
          assert.match(await error.first().innerText(), /Required/);
          const ticket = page.locator('li.workflow', { hasText: `Form check ${process.pid}` }).getByLabel('Ticket');
          const describedBy = await ticket.getAttribute('aria-describedby');
          assert.ok(describedBy?.includes(await error.first().getAttribute('id')), 'the message describes its field');
          assert.equal(await page.locator('li.workflow', { hasText: `Form check ${process.pid}` }).getByLabel('Replicas').inputValue(), '5', 'typed value kept');
          assert.equal(await releaseCard(page).locator('.field-error').count(), 0, 'other forms show no error');
          // Correcting it starts the run.
          await page.locator('li.workflow', { hasText: `Form check ${process.pid}` }).getByLabel('Ticket').fill('OPS-1');
          await page.locator('li.workflow', { hasText: `Form check ${process.pid}` }).getByRole('button', { name: 'Start run' }).click();
          await page.waitForURL((u) => u.pathname.startsWith('/runs/'));
          await waitForText(page, '.run-inputs', 'OPS-1');
        },
        { javaScriptEnabled },
      );
    });
  }
});

for (const vp of VIEWPORTS) {
  describe(`webhook sources (${vp.name})`, () => {
    test('an admin creates a source, sees its secret once and a signed delivery arrive', { timeout: 90_000 }, async () => {
      const name = `e2e-${vp.name}-${process.pid}`;
      await withPage(browser(), vp, async (page) => {
        await login(page, 'admin');
        await visit(page, '/workflows');
        await page.getByRole('link', { name: 'Webhook sources' }).click();
        await page.waitForURL((u) => u.pathname === '/workflows/webhooks');
        await page.getByLabel('Name', { exact: true }).fill(name);
        await page.getByLabel('Description').fill('Browser test source');
        await page.getByRole('button', { name: 'Create source' }).click();
        const secret = (await page.getByTestId('webhook-secret').innerText()).trim();
        assert.match(secret, /^whs_/);
        await waitForText(page, '.webhook-secret', 'X-Platform-Signature');

        const body = JSON.stringify({ service: 'payments-api', version: '9.9.9' });
        const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
        const delivery = randomUUID();
        const res = await fetch(`${BASE_URL}/api/v1/hooks/${name}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Platform-Signature': signature, 'X-Platform-Delivery': delivery },
          body,
        });
        assert.equal(res.status, 202, await res.text());
        const forged = await fetch(`${BASE_URL}/api/v1/hooks/${name}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Platform-Signature': 'sha256=00', 'X-Platform-Delivery': randomUUID() },
          body,
        });
        assert.equal(forged.status, 403);

        await visit(page, `/workflows/webhooks?source=${name}`);
        const row = page.locator('.deliveries-table tr', { hasText: delivery });
        await row.getByText('accepted').waitFor();
        await page.locator('.deliveries-table tr', { hasText: 'bad signature' }).first().waitFor();
        assert.equal(await page.getByTestId('webhook-secret').count(), 0, 'the secret is not shown again');
        await screenshot(page, `webhooks-${vp.name}`);

        await page.getByRole('button', { name: `Delete source ${name}` }).click();
        await waitForText(page, '[role="status"]', 'Source deleted');
        assert.equal(await page.getByRole('button', { name: `Delete source ${name}` }).count(), 0);
      });
    });
  });
}

describe('webhook sources: refused', () => {
  test('a non-admin is refused the page', async () => {
    await withPage(browser(), VIEWPORTS[0], async (page) => {
      await login(page, 'lead');
      const res = await visit(page, '/workflows/webhooks');
      assert.equal(res.status(), 403);
      await waitForText(page, '[role="alert"]', 'Only Platform Admins');
      await visit(page, '/workflows');
      assert.equal(await page.getByRole('link', { name: 'Webhook sources' }).count(), 0);
    });
  });
});
