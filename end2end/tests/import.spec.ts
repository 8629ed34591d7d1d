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

/**
 * With JavaScript, a file chosen with "Read a file" fills the form and picks its format; without
 * it, the file is pasted and its format chosen.
 */
async function load(page: Page, js: boolean | undefined, name: string, text: string, format: string) {
  await page.goto('/import');
  const form = page.locator('#import-form');
  if (js) {
    await page.locator('#import-file').setInputFiles({ name, mimeType: 'text/plain', buffer: Buffer.from(text) });
    await expect(page.locator('#import-file-status')).toHaveText(`Read ${name}; press Preview to see what it would change.`);
    await expect(form.getByLabel('File contents')).toHaveValue(text);
    await expect(form.getByLabel('Format')).toHaveValue(format);
  } else {
    await form.getByLabel('File contents').fill(text);
    await form.getByLabel('Format').selectOption(format);
  }
}

test('a chosen YAML or .env file is read into the form, previewed and imported', async ({ page, javaScriptEnabled }) => {
  const ns = uniqueName('yaml');
  const form = page.locator('#import-form');
  const yaml = `# from another tool\n${ns}:\n  db:\n    <<: &defaults {port: 5432, tls: true}\n    host: "db.local"\n    ratio: 1.50\n  replica:\n    <<: *defaults\n    host: replica.local\n`;
  await load(page, javaScriptEnabled, 'shop.yaml', yaml, 'yaml');
  await form.getByRole('button', { name: 'Preview' }).click();
  const replica = page.locator(`[data-namespace="${ns}"] [data-configuration="replica"]`);
  await expect(replica).toHaveAttribute('data-action', 'create');
  await expect(replica.locator('tr[data-field="port"] td.after')).toHaveText('5432');
  await page.locator('#import-apply').getByRole('button', { name: 'Import 2 configurations' }).click();
  await expect(page.locator('#import-done')).toHaveText('Imported: 2 configurations written, 0 sent for review, 0 not written.');
  expect(await stored(page, ns, 'db')).toEqual({ host: 'db.local', ratio: 1.5, port: 5432, tls: true });
  expect(await stored(page, ns, 'replica')).toEqual({ port: 5432, tls: true, host: 'replica.local' });

  // An .env file says nothing of where it goes: the form asks, and its keys can be split.
  await load(page, javaScriptEnabled, '.env.production', 'DB__HOST=db.local\nDB__PORT=5432\n', 'env');
  await form.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByRole('alert').first()).toContainText('does not say which configuration it is');
  await form.getByLabel('Into').fill(`${ns}/app`);
  await form.getByLabel('Split keys on').fill('__');
  await form.getByRole('button', { name: 'Preview' }).click();
  await expect(page.locator(`[data-namespace="${ns}"] [data-configuration="app"]`)).toHaveAttribute('data-action', 'create');
  await page.locator('#import-apply').getByRole('button', { name: 'Import 1 configuration' }).click();
  await expect(page.locator('#import-done')).toContainText('Imported: 1 configurations written');
  expect(await stored(page, ns, 'app')).toEqual({ DB: { HOST: 'db.local', PORT: '5432' } });
});
