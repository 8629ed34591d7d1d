import { expect, test } from './fixtures';
import { execFileSync } from 'node:child_process';
import { etcdEndpoints, uniqueName } from './support';
import { fieldRow, shownValue } from './fields';

/** A namespace with one configuration that has had two field changes, made through the API. */
async function someHistory(request: import('@playwright/test').APIRequestContext) {
  const ns = uniqueName('aud');
  expect((await request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
  expect((await request.post('/api/configurations/create', { form: { namespace: ns, name: 'svc' } })).status()).toBeLessThan(400);
  for (const value of ['1', '2']) {
    const current = await (await request.get(`/api/configurations/get?namespace=${ns}&name=svc`)).json();
    const saved = await request.post('/api/configurations/edit', {
      form: {
        namespace: ns, name: 'svc', revision: String(current.revision), seq: String(current.seq), comment: `n=${value}`,
        'edit[op]': 'set', 'edit[field]': 'n', 'edit[kind]': 'number', 'edit[value]': value,
      },
    });
    expect(saved.status()).toBeLessThan(400);
    // A change elsewhere in between, so that versions of svc are not consecutive numbers.
    const other = await request.post('/api/configurations/create', { form: { namespace: ns, name: `other${value}` } });
    expect(other.status()).toBeLessThan(400);
  }
  return ns;
}

test('the audit log filters, links to diffs, exports and verifies', async ({ page, javaScriptEnabled }) => {
  const ns = await someHistory(page.request);
  await page.goto('/audit');
  await expect(page.locator('#chain')).toContainText('verifies');
  if (javaScriptEnabled) {
    // A change made meanwhile shows in the open log (other specs write to it too, so not
    // necessarily at the top).
    await expect(page.locator('#live-status')).toHaveText('Live updates: on');
    const entry = page.locator('#audit tbody tr', { hasText: `${ns} › later` });
    await expect(entry).toHaveCount(0);
    const later = await page.request.post('/api/configurations/create', { form: { namespace: ns, name: 'later' } });
    expect(later.status()).toBeLessThan(400);
    await expect(entry).toHaveCount(1);
  }
  await expect(page.locator('figure.chart svg rect')).toHaveCount(30);
  await page.locator('#audit-filter').getByLabel('Namespace', { exact: true }).fill(ns);
  await page.locator('#audit-filter').getByLabel('Action').selectOption('field.set');
  // The person filter takes the start of a name, in any case.
  await page.locator('#audit-filter').getByLabel('Person').fill('E2E-AD');
  await page.locator('#audit-filter').getByRole('button', { name: 'Filter' }).click();
  const rows = page.locator('#audit tbody tr');
  await expect(rows).toHaveCount(2);
  // Actions read in words, the code on hover.
  await expect(rows.first().locator('td').nth(3)).toHaveText('set a field');
  await expect(rows.first().locator('td span[title="field.set"]')).toHaveCount(1);
  await expect(rows.first()).toContainText('n=2');
  await expect(rows.nth(1)).toContainText('n=1');

  // Each entry links to its diff.
  await rows.first().getByRole('link', { name: 'Diff' }).click();
  await expect(page.locator('#diff-heading')).toHaveText(/^Version #\d+ → #\d+$/);
  await expect(page.locator('#diff td.before')).toHaveText('1');
  await expect(page.locator('#diff td.after')).toHaveText('2');

  // Export of the filtered view.
  await page.goBack();
  const csvHref = await page.locator('#export-csv').getAttribute('href');
  const csv = await page.request.get(csvHref!);
  expect(csv.headers()['content-type']).toContain('text/csv');
  expect(csv.headers()['content-disposition']).toContain('attachment');
  const lines = (await csv.text()).trim().split('\n');
  expect(lines[0]).toBe('seq,time,who,action,namespace,configuration,field,user,comment,before,after');
  expect(lines.slice(1).map((l) => l.split(',')[8])).toEqual(['"n=2"', '"n=1"']);
  // What each change replaced and what it wrote.
  expect(lines.slice(1).map((l) => l.split(',').slice(9).join(','))).toEqual(['"/n=1","/n=2"', '"/n=(not there)","/n=1"']);
  const jsonl = await page.request.get((await page.locator('#export-jsonl').getAttribute('href'))!);
  const entries = (await jsonl.text()).trim().split('\n').map((l) => JSON.parse(l));
  expect(entries.map((e) => [e.action, e.namespace, e.comment])).toEqual([
    ['field.set', ns, 'n=2'],
    ['field.set', ns, 'n=1'],
  ]);
  expect(entries[0].hash).toMatch(/^[0-9a-f]{64}$/);
});

test('the audit filters fit one line on a laptop, and the chart is also a table', async ({ page }) => {
  const ns = await someHistory(page.request);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(`/audit?namespace=${ns}`);
  const controls = page.locator('#audit-filter').locator('input, select, button');
  await expect(controls).toHaveCount(7);
  const boxes = await Promise.all((await controls.all()).map(async (c) => (await c.boundingBox())!));
  // One line: every control overlaps the same band.
  const top = Math.max(...boxes.map((b) => b.y));
  const bottom = Math.min(...boxes.map((b) => b.y + b.height));
  expect(bottom - top).toBeGreaterThan(10);
  const table = page.locator('#chart-table');
  await expect(table.locator('tbody tr')).toHaveCount(30);
  const today = new Date().toISOString().slice(0, 10);
  await page.locator('details.chart-table summary').click();
  const entries = await page.locator('#audit tbody tr').count();
  expect(entries).toBeGreaterThanOrEqual(5);
  await expect(table.locator('tbody tr', { has: page.locator('th', { hasText: today }) }).locator('td')).toHaveText(String(entries));
});

test('a change made with etcdctl appears on the open page without reload', async ({ page, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled || !etcdEndpoints, 'live updates need JavaScript and etcd');
  const ns = await someHistory(page.request);
  await page.goto(`/ns/${ns}/svc`);
  await expect(page.locator('#live-status')).toHaveText('Live updates: on');
  await expect(shownValue(fieldRow(page, 'n'))).toHaveText('2');
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 1; });
  const started = Date.now();
  execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'put', `${ns}-svc`, '{"n": 3, "from_outside": true}'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  await expect(page.locator('#fields tbody th', { hasText: 'from_outside' })).toBeVisible();
  console.log(`etcdctl put to visible in the browser: ${Date.now() - started} ms`);
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
  await expect(shownValue(fieldRow(page, 'n'))).toHaveText('3');

  // While editing, the person is told instead of losing their edit.
  const editor = page.getByLabel('The configuration as JSON');
  await editor.fill('{"n": 4, "from_outside": true}');
  execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'put', `${ns}-svc`, '{"n": 5, "from_outside": true}'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  await expect(page.locator('#changed-elsewhere')).toContainText('another tool changed this configuration');
  await expect(editor).toHaveValue('{"n": 4, "from_outside": true}');
});

test('the slash key focuses the filter', async ({ page, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled, 'needs JavaScript');
  await page.goto('/');
  await expect(page.locator('#live-status')).toHaveText('Live updates: on');
  await page.keyboard.press('/');
  await expect(page.getByLabel('Filter')).toBeFocused();
});
