import { expect, test } from './fixtures';
import { uniqueName } from './support';

test('an unknown namespace or configuration is a page not found, with a way on and nothing to delete', async ({ page }) => {
  const known = uniqueName('errns');
  await page.goto('/');
  await page.getByLabel('Name', { exact: true }).fill(known);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.locator('#namespace-list li', { hasText: known })).toBeVisible();

  const unknown = uniqueName('nothere');
  for (const path of [
    `/ns/${unknown}`,
    `/ns/${unknown}/settings`,
    `/ns/${unknown}/web`,
    `/ns/${unknown}/web/history`,
    `/ns/${known}/nothere`,
    `/ns/${known}/nothere/history`,
  ]) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(404);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Not found');
    await expect(page.getByRole('alert')).toContainText('does not exist');
    await expect(page.getByRole('link', { name: 'Go to the namespaces' })).toBeVisible();
    await expect(page.getByRole('button', { name: /delete/i })).toHaveCount(0);
    await expect(page.locator('main form')).toHaveCount(0);
  }
  // The namespace that is there still offers its deletion to an administrator.
  await page.goto(`/ns/${known}`);
  await expect(page.locator('#delete-namespace')).toHaveCount(1);
});
