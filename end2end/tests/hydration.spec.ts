import { expect, test } from '@playwright/test';
import { uniqueName } from './support';

// The filter works only once the WASM bundle has hydrated the page: the server-rendered HTML
// alone cannot hide anything as you type. Without the .wasm this test fails.
test('the hydrated page filters namespaces as you type', async ({ page, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled, 'needs JavaScript');
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));

  const tag = uniqueName('hyd');
  const alpha = `${tag}_alpha`;
  const beta = `${tag}_beta`;
  await page.goto('/');
  for (const name of [alpha, beta]) {
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.locator('#namespace-list li', { hasText: name })).toBeVisible();
  }

  await page.getByLabel('Filter').fill(`${tag}_al`);
  await expect(page.locator('#namespace-list li', { hasText: alpha })).toBeVisible();
  await expect(page.locator('#namespace-list li', { hasText: beta })).toBeHidden();

  await page.getByLabel('Filter').fill('');
  await expect(page.locator('#namespace-list li', { hasText: beta })).toBeVisible();
  expect(errors).toEqual([]);
});
