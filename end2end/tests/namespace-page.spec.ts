import { expect, test } from './fixtures';
import { execFileSync } from 'node:child_process';
import { etcdEndpoints, etcdGet, uniqueName } from './support';
import { addField } from './fields';

async function create(page: import('@playwright/test').Page, ns: string, name: string, copyFrom = '') {
  await page.goto(`/ns/${ns}`);
  const form = page.locator('#create-configuration');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Copy the fields of (optional)').fill(copyFrom);
  await form.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/${name}$`));
}

test('configurations are filtered, duplicated, deleted with confirmation, and the namespace too', async ({ page }) => {
  const ns = uniqueName('nsp');
  expect((await page.request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
  await create(page, ns, 'web');
  await addField(page, 'port', 'number', '80');

  // Duplicate keeps the fields.
  const duplicate = page.locator('#duplicate');
  await duplicate.getByLabel('Name of the copy').fill('web-copy');
  await duplicate.getByRole('button', { name: 'Duplicate' }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/web-copy$`));
  await expect(page.locator('#fields tbody th', { hasText: 'port' })).toHaveCount(1);
  await create(page, ns, 'worker');

  // The filter, shareable as an address.
  await page.goto(`/ns/${ns}?filter=WEB`);
  await expect(page.locator('#configurations tbody tr')).toHaveCount(2);
  await expect(page.locator('#paging')).toContainText('2 of 3 configurations match');

  // Deleting a configuration needs its name typed.
  await page.goto(`/ns/${ns}/worker`);
  const del = page.locator('#delete-configuration');
  await page.locator('details.danger summary').click();
  await del.getByLabel('Type its name to confirm').fill('wrong');
  await del.getByRole('button', { name: 'Delete the configuration' }).click();
  await expect(page.getByRole('alert')).toContainText('type the configuration');
  await expect(del).toBeVisible();
  await del.getByLabel('Type its name to confirm').fill('worker');
  await del.getByRole('button', { name: 'Delete the configuration' }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}\\?deleted=worker$`));
  await expect(page.locator('#deleted')).toContainText('Deleted the configuration worker.');
  await expect(page.locator('#configurations tbody tr')).toHaveCount(2);

  // A namespace that holds configurations is deleted only with them, when asked.
  const danger = page.locator('details.danger');
  await danger.locator('summary').click();
  const nsForm = page.locator('#delete-namespace');
  await nsForm.getByLabel("Type the namespace's name to confirm").fill(ns);
  await nsForm.getByRole('button', { name: 'Delete the namespace' }).click();
  await expect(page.getByRole('alert')).toContainText('still holds 2 configuration');
  // The form stays open with the error, with JavaScript or without.
  await expect(nsForm).toBeVisible();
  await nsForm.getByLabel("Type the namespace's name to confirm").fill(ns);
  await nsForm.getByLabel('Also delete all its configurations').check();
  await nsForm.getByRole('button', { name: 'Delete the namespace' }).click();
  await expect(page).toHaveURL(new RegExp(`/\\?deleted=${ns}$`));
  await expect(page.locator('#deleted')).toContainText(`Deleted the namespace ${ns}.`);
  await expect(page.locator('#namespace-list li', { hasText: ns })).toHaveCount(0);
  if (etcdEndpoints) {
    expect(JSON.parse(etcdGet('confo')).namespaces).not.toContain(ns);
    expect(etcdGet(`${ns}-web`)).toBe('');
  }
});

test('configurations written by another tool show as a banner and can be registered', async ({ page }) => {
  test.skip(!etcdEndpoints, 'writes with etcdctl');
  const ns = uniqueName('reg');
  expect((await page.request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
  execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'put', `${ns}-legacy`, '{"a": 1}'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  // The overview points at it too, and registers from there.
  await page.goto('/');
  const row = page.locator('#unregistered li', { hasText: ns });
  await expect(row).toContainText('1 not listed');
  await row.getByRole('button', { name: `Register them in ${ns}` }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}$`));
  await expect(page.locator('#configurations tbody tr', { hasText: 'legacy' })).toHaveCount(1);
  await page.goto('/');
  await expect(page.locator('#unregistered li', { hasText: ns })).toHaveCount(0);

  // And on the namespace page.
  execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'put', `${ns}-legacy2`, '{"a": 2}'], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  await page.goto(`/ns/${ns}`);
  await expect(page.locator('#unregistered')).toContainText('legacy2');
  await page.locator('#unregistered').getByRole('button', { name: 'Register them' }).click();
  await expect(page.locator('#unregistered')).toHaveCount(0);
  await expect(page.locator('#configurations tbody tr', { hasText: 'legacy2' })).toHaveCount(1);
  expect(JSON.parse(etcdGet(ns))).toEqual({ configurations: ['legacy', 'legacy2'] });
});

test('the list follows changes made elsewhere without touching what you are typing', async ({ page, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled, 'live updates need JavaScript');
  const ns = uniqueName('liv');
  expect((await page.request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
  await page.goto(`/ns/${ns}`);
  await expect(page.locator('#configuration-empty')).toBeVisible();
  await expect(page.locator('#live-status')).toHaveText('Live updates: on');
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 7; });

  const elsewhere = async (name: string) =>
    expect((await page.request.post('/api/configurations/create', { form: { namespace: ns, name } })).status()).toBeLessThan(400);
  await elsewhere('first');
  await expect(page.locator('#configurations tbody tr', { hasText: 'first' })).toHaveCount(1);
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);

  // What you are typing in a form is not touched by the refresh.
  await page.locator('#create-configuration').getByLabel('Name').fill('mine');
  await elsewhere('second');
  await expect(page.locator('#configurations tbody tr', { hasText: 'second' })).toHaveCount(1);
  await expect(page.locator('#create-configuration').getByLabel('Name')).toHaveValue('mine');
  await expect(page.locator('#changed-elsewhere')).toHaveCount(0);

  // The filter follows as you type, and the address with it, still without a reload.
  await page.getByLabel('Filter by name').pressSequentially('SEC');
  await expect(page.locator('#configurations tbody tr')).toHaveCount(1);
  await expect(page.locator('#configurations tbody tr')).toContainText('second');
  await expect(page.locator('#paging')).toContainText('1 of 2 configurations match');
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}\\?filter=SEC&page=1$`));
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(7);
});
