import { expect, test, type Page } from './fixtures';
import { uniqueName } from './support';
import { saveJson as save, seed } from './seed';

/** The fields of a configuration as stored, or null when it is not there. */
async function stored(page: Page, ns: string, name: string): Promise<unknown> {
  const answer = await page.request.get(`/api/configurations/get?namespace=${ns}&name=${name}`);
  if (!answer.ok()) {
    return null;
  }
  return JSON.parse((await answer.json()).json);
}

async function preview(page: Page, content: object, existing: string) {
  await page.goto('/import');
  await page.locator('#import-form').getByLabel('File contents').fill(JSON.stringify(content));
  await page.locator('#import-form').getByLabel('Configurations that exist already').selectOption(existing);
  await page.locator('#import-form').getByRole('button', { name: 'Preview' }).click();
  await expect(page.locator('#import-preview')).toBeVisible();
}

test('a pasted file is previewed field by field, a stale preview is shown again, and the import writes what it showed', async ({ page }) => {
  const ns = uniqueName('import');
  const fresh = uniqueName('fresh');
  await seed(page, ns, 'db', { host: 'a', port: 1 });
  const file = { [ns]: { db: { host: 'b', port: 1, tls: true }, cache: { ttl: 5 } }, [fresh]: { api: { on: true } } };

  await preview(page, file, 'overwrite');
  const db = page.locator(`[data-namespace="${ns}"] [data-configuration="db"]`);
  await expect(db).toHaveAttribute('data-action', 'update');
  await expect(db.locator('tr[data-field="host"] td.before')).toHaveText('"a"');
  await expect(db.locator('tr[data-field="host"] td.after')).toHaveText('"b"');
  await expect(db.locator('tr[data-field="tls"]')).toHaveAttribute('data-state', 'added');
  await expect(db).toContainText('1 fields unchanged');
  await expect(page.locator(`[data-namespace="${ns}"] [data-configuration="cache"]`)).toHaveAttribute('data-action', 'create');
  await expect(page.locator(`[data-namespace="${fresh}"] h3`)).toContainText('new namespace');

  // Someone changes db after the preview: nothing is imported, and the preview shows what is there now.
  await save(page, ns, 'db', { host: 'c', port: 1 });
  await page.locator('#import-apply').getByLabel('Comment for the history').fill('moving in');
  await page.locator('#import-apply').getByRole('button', { name: 'Import 3 configurations' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'has changed since' })).toBeVisible();
  await page.reload();
  await expect(db.locator('tr[data-field="host"] td.before')).toHaveText('"c"');
  expect(await stored(page, ns, 'cache')).toBeNull();

  await page.locator('#import-apply').getByRole('button', { name: 'Import 3 configurations' }).click();
  await expect(page.locator('#import-done')).toHaveText('Imported: 3 configurations written, 0 sent for review, 0 not written.');
  expect(await stored(page, ns, 'db')).toEqual({ host: 'b', port: 1, tls: true });
  expect(await stored(page, ns, 'cache')).toEqual({ ttl: 5 });
  expect(await stored(page, fresh, 'api')).toEqual({ on: true });

  // Again: nothing left to do.
  await preview(page, file, 'overwrite');
  await expect(page.locator('#import-nothing')).toBeVisible();
});

test('a malformed file is refused naming the line, and a name the rules refuse can be mapped', async ({ page }) => {
  await page.goto('/import');
  await page.locator('#import-form').getByLabel('File contents').fill('{"a": {"b": {"x": 1,\n"x": 2}}}');
  await page.locator('#import-form').getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByRole('alert').first()).toContainText('"x" is written twice');
  await expect(page.getByRole('alert').first()).toContainText('line 2');

  const legacy = `${uniqueName('old')}-eu`;
  await preview(page, { [legacy]: { db: { host: 'x' } } }, 'skip');
  await expect(page.locator(`[data-namespace="${legacy}"] .error`)).toContainText(`--rename ${legacy}=`);
  await expect(page.locator('#import-nothing')).toBeVisible();
  const mapped = legacy.replace('-', '_');
  await page.locator('#import-form').getByLabel('Rename namespaces').fill(`${legacy}=${mapped}`);
  await page.locator('#import-form').getByRole('button', { name: 'Preview' }).click();
  await expect(page.locator(`[data-namespace="${mapped}"] h3`)).toContainText(`(from ${legacy})`);
  await page.locator('#import-apply').getByRole('button', { name: 'Import 1 configuration' }).click();
  await expect(page.locator('#import-done')).toContainText('Imported: 1 configurations written');
  expect(await stored(page, mapped, 'db')).toEqual({ host: 'x' });
});
