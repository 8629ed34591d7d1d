import { expect, test } from './fixtures';
import { uniqueName } from './support';

// The page is server-rendered HTML; only its islands (here the filter box and live updates) are
// brought to life by the WASM bundle. Without the .wasm the first test fails.

async function namespaces(request: import('@playwright/test').APIRequestContext, ...names: string[]) {
  for (const name of names) {
    expect((await request.post('/api/namespaces/create', { form: { name } })).ok()).toBeTruthy();
  }
}

test('the filter hides namespaces as you type, also in a list brought up to date live', async ({ page, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled, 'needs JavaScript');
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  const tag = uniqueName('hyd');
  const [alpha, beta, alpine] = [`${tag}_alpha`, `${tag}_beta`, `${tag}_alpine`];
  await page.goto('/');
  for (const name of [alpha, beta]) {
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.locator('#namespace-list li', { hasText: name })).toBeVisible();
  }
  await expect(page.locator('#live-status')).toHaveText('Live updates: on');

  await page.getByLabel('Filter').fill(`${tag}_al`);
  await expect(page.locator('#namespace-list li', { hasText: alpha })).toBeVisible();
  await expect(page.locator('#namespace-list li', { hasText: beta })).toBeHidden();

  // Someone else creates a namespace: it appears without a reload, and the filter still holds.
  await page.evaluate(() => { (window as unknown as { marker: number }).marker = 42; });
  await namespaces(page.request, alpine);
  await expect(page.locator('#namespace-list li', { hasText: alpine })).toBeVisible();
  await expect(page.locator('#namespace-list li', { hasText: beta })).toBeHidden();
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);

  await page.getByLabel('Filter').fill('');
  await expect(page.locator('#namespace-list li', { hasText: beta })).toBeVisible();
  expect(errors).toEqual([]);
});

test('the filter is an address too, so it works without JavaScript', async ({ page }) => {
  const tag = uniqueName('flt');
  await namespaces(page.request, `${tag}_one`, `${tag}_two`);
  await page.goto('/');
  await page.getByLabel('Filter').fill(`${tag}_TW`);
  await page.getByLabel('Filter').press('Enter');
  await expect(page).toHaveURL(new RegExp(`\\?filter=${tag}_TW$`));
  await expect(page.locator('#namespace-list li', { hasText: `${tag}_two` })).toBeVisible();
  await expect(page.locator('#namespace-list li', { hasText: `${tag}_one` })).toBeHidden();
  await expect(page.getByLabel('Filter')).toHaveValue(`${tag}_TW`);
});
