import { expect, test } from './fixtures';
import { etcdEndpoints, etcdGet, uniqueName } from './support';

// Runs in both projects: the browser posts the form to the server function, which redirects
// back; the page then shows the outcome.

test('creates a namespace and lists it', async ({ page }) => {
  const name = uniqueName('ns');
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'Namespaces' })).toBeVisible();

  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create' }).click();

  await expect(page.locator('#namespace-list li', { hasText: name })).toBeVisible();
  await page.reload();
  await expect(page.locator('#namespace-list li', { hasText: name })).toBeVisible();

  if (etcdEndpoints) {
    const root = JSON.parse(etcdGet('confo'));
    expect(Object.keys(root)).toEqual(['namespaces']);
    expect(root.namespaces).toContain(name);
    expect(JSON.parse(etcdGet(name))).toEqual({ configurations: [] });
  }
});

test('refuses a bad name with the rule it broke, and writes nothing', async ({ page }) => {
  const name = `${uniqueName('bad')}-dash`;
  await page.goto('/');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create' }).click();

  await expect(page.getByRole('alert')).toContainText("contains '-'");
  // What was typed stays in the box, to be corrected.
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  // The technical detail is there for whoever asks, not in the way.
  const detail = page.getByRole('alert').locator('details.technical code');
  await expect(detail).toBeHidden();
  await page.getByRole('alert').getByText('Technical details').click();
  await expect(detail).toHaveText('HTTP 400 · invalid request');
  await page.goto('/');
  await expect(page.getByText(name)).toHaveCount(0);
  if (etcdEndpoints) {
    expect(JSON.parse(etcdGet('confo')).namespaces).not.toContain(name);
    expect(etcdGet(name)).toBe('');
  }
});

test('refuses a namespace that already exists', async ({ page }) => {
  const name = uniqueName('dup');
  await page.goto('/');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.locator('#namespace-list li', { hasText: name })).toBeVisible();

  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('alert')).toContainText('already exists');
  await expect(page.locator('#namespace-list li', { hasText: name })).toHaveCount(1);
});

test('deletes a namespace from its row, with its configurations only when asked', async ({ page }) => {
  const name = uniqueName('del');
  expect((await page.request.post('/api/namespaces/create', { form: { name } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/configurations/create', { form: { namespace: name, name: 'c' } })).status()).toBeLessThan(400);
  await page.goto('/');
  const row = page.locator('#namespace-list li', { hasText: name });
  await row.getByText(`Delete ${name}…`).click();
  await row.getByLabel("Type the namespace's name to confirm").fill(name);
  await row.getByRole('button', { name: 'Delete the namespace' }).click();
  await expect(page.getByRole('alert')).toContainText('still holds 1 configuration');
  await expect(page.locator('#namespace-list li', { hasText: name })).toHaveCount(1);

  const again = page.locator('#namespace-list li', { hasText: name });
  await again.getByText(`Delete ${name}…`).click();
  await again.getByLabel("Type the namespace's name to confirm").fill(name);
  await again.getByLabel('Also delete all its configurations').check();
  await again.getByRole('button', { name: 'Delete the namespace' }).click();
  await expect(page.locator('#namespace-list li', { hasText: name })).toHaveCount(0);
  if (etcdEndpoints) {
    expect(JSON.parse(etcdGet('confo')).namespaces).not.toContain(name);
    expect(etcdGet(`${name}-c`)).toBe('');
  }
});
