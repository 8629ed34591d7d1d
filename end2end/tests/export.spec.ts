import { expect, test, type Page } from './fixtures';
import * as fs from 'node:fs';
import { uniqueName } from './support';
import { seed } from './seed';

/** Submits the export form of the page and answers the downloaded file's name and text. */
async function download(page: Page): Promise<{ name: string; body: Buffer }> {
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#export-form').getByRole('button', { name: 'Download' }).click(),
  ]);
  const saved = await file.path();
  return { name: file.suggestedFilename(), body: fs.readFileSync(saved) };
}

test('a namespace is downloaded from its page, secret values only when an administrator asks, and each export is audited', async ({ page }) => {
  const ns = uniqueName('export');
  await seed(page, ns, 'db', { host: 'db.local', port: 5432, token: 'hunter2' });
  const schema = await (await page.request.get(`/api/schemas/get?namespace=${ns}&name=db`)).json();
  expect((await page.request.post('/api/schemas/assign', {
    form: {
      namespace: ns, name: 'db', mode: 'own', shared: '', revision: String(schema.revision),
      json: JSON.stringify({ properties: { token: { type: 'string', writeOnly: true } } }),
    },
  })).status()).toBeLessThan(400);

  await page.goto(`/ns/${ns}`);
  await page.locator('#export-form').getByLabel('Format').selectOption('yaml');
  const yaml = await download(page);
  expect(yaml.name).toBe('confo.yaml');
  const text = yaml.body.toString('utf8');
  expect(text).toContain(`${ns}:\n  db:\n    host: "db.local"\n    port: 5432\n`);
  expect(text).toContain('token: "(write-only: not exported)"');
  expect(text).not.toContain('hunter2');

  await page.locator('#export-form').getByLabel('Format').selectOption('env');
  await page.locator('#export-form').getByLabel('Include secret values').check();
  const env = await download(page);
  expect(env.name).toBe('confo.env');
  expect(env.body.toString('utf8')).toContain(`${ns.toUpperCase()}__DB__TOKEN=hunter2\n`);

  await page.locator('#export-form').getByLabel('Include secret values').uncheck();
  await page.locator('#export-form').getByLabel('Format').selectOption('tree');
  const tree = await download(page);
  expect(tree.name).toBe('confo.tar.gz');
  expect([...tree.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);

  await page.goto(`/audit?namespace=${ns}`);
  await expect(page.locator('#audit tbody tr', { hasText: 'exported configurations' })).toHaveCount(3);
  await expect(page.locator('#audit tbody tr', { hasText: 'with secret values' })).toHaveCount(1);
});
