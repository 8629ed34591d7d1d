import { expect, test, type Page } from './fixtures';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { PASSWORD, etcdEndpoints, uniqueName } from './support';
import { addField } from './fields';
import { seed } from './seed';

const binary = path.resolve(__dirname, '..', '..', 'target', 'release', 'confo');

/** Searches from the header's box, as a person does. */
async function searchFromHeader(page: Page, text: string) {
  await page.locator('#header-search').fill(text);
  await page.locator('#header-search').press('Enter');
  await expect(page).toHaveURL(/\/search\?q=/);
}

/** The results listed, each as its text. */
function results(page: Page) {
  return page.locator('#search-results li');
}

test('a value saved in the dashboard and one written by etcdctl are found, and a result leads to its field', async ({ page }) => {
  test.skip(!etcdEndpoints, 'writes with etcdctl');
  const ns = uniqueName('find');
  const word = uniqueName('oldhost');
  await page.goto('/');
  await page.getByLabel('Name', { exact: true }).fill(ns);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.locator('#namespace-list li', { hasText: ns })).toBeVisible();
  await page.goto(`/ns/${ns}`);
  const form = page.locator('#create-configuration');
  await form.getByLabel('Name').fill('db');
  await form.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/db$`));
  await addField(page, 'host', 'text', `${word}.internal`);
  // The index follows the store's changes: wait for this one.
  await expect(async () => {
    await page.goto(`/search?q=${word}`);
    await expect(results(page)).toHaveCount(1, { timeout: 500 });
  }).toPass({ timeout: 5_000 });

  await searchFromHeader(page, word.toUpperCase());
  await expect(page.locator('#search-summary')).toHaveText(`1 result for “${word.toUpperCase()}”; 1–1 shown.`);
  await expect(results(page)).toHaveCount(1);
  await expect(results(page).first()).toContainText(`${ns} / db / host`);
  await expect(results(page).first().locator('mark')).toHaveText(word);

  // Written by another tool: found once the server's watch has seen it, without a restart.
  execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'put', `${ns}-legacy`, JSON.stringify({ servers: [{ host: `${word}-2` }] })], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  await expect(async () => {
    await page.goto(`/search?q=${word}`);
    await expect(results(page)).toHaveCount(2, { timeout: 500 });
  }).toPass({ timeout: 5_000 });
  await expect(results(page).nth(1)).toContainText(`${ns} / legacy / servers/0/host`);

  // A path, written with dots, only in paths and only in this namespace.
  await page.goto('/search');
  await page.locator('#search-form').getByLabel('Search for').fill('servers.0.host');
  await page.locator('#search-form').getByLabel('Look in').selectOption('paths');
  await page.locator('#search-form').getByLabel('Namespace').selectOption(ns);
  await page.locator('#search-form').getByRole('button', { name: 'Search' }).click();
  await expect(results(page)).toHaveCount(1);
  await expect(results(page).first()).toContainText('Field path (exact)');
  await expect(results(page).first().locator('mark')).toHaveText('servers/0/host');

  // The result leads to the configuration, its row marked.
  await page.goto(`/search?q=${word}`);
  await results(page).first().getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/db\\?found=`));
  await expect(page.locator('tr#found')).toHaveCount(1);
  await expect(page.locator('tr#found th')).toContainText('host');
});

test('a viewer finds nothing of a namespace not granted, and nobody finds a secret value', async ({ page, browser }, info) => {
  test.skip(!etcdEndpoints, 'makes an account with `confo user add`, which shares the store through etcd');
  const word = uniqueName('needle');
  const secret = uniqueName('secretvalue');
  const [mine, theirs] = [uniqueName('granted'), uniqueName('hidden')];
  await seed(page, mine, 'app', { url: `${word}-a`, token: secret });
  await seed(page, theirs, 'app', { url: `${word}-b` });
  // The token is secret in `mine`'s schema.
  const schema = await (await page.request.get(`/api/schemas/get?namespace=${mine}&name=app`)).json();
  expect((await page.request.post('/api/schemas/assign', {
    form: {
      namespace: mine, name: 'app', mode: 'own', shared: '', revision: String(schema.revision),
      json: JSON.stringify({ properties: { token: { type: 'string', writeOnly: true } } }),
    },
  })).status()).toBeLessThan(400);

  await expect(async () => {
    await page.goto(`/search?q=${word}`);
    await expect(results(page)).toHaveCount(2, { timeout: 500 });
  }).toPass({ timeout: 5_000 });
  await expect(async () => {
    await page.goto(`/search?q=${secret}`);
    await expect(page.locator('#search-summary')).toHaveText(`Nothing matches “${secret}”.`, { timeout: 500 });
  }).toPass({ timeout: 5_000 });
  // Its field path is still found, without its value.
  await page.goto(`/search?q=token&ns=${mine}`);
  await expect(results(page)).toHaveCount(1);
  await expect(results(page).first()).toContainText('(secret or not indexed)');
  await expect(results(page).first()).not.toContainText(secret);

  // A viewer of `mine` only.
  const viewer = uniqueName('viewer');
  execFileSync(binary, ['user', 'add', '--role', 'viewer', viewer, '--etcd-endpoints', etcdEndpoints], {
    input: `${PASSWORD}\n`,
    env: { ...process.env, RUST_LOG: 'warn' },
  });
  await page.goto(`/users/${viewer}`);
  const roles = page.locator('#update-user');
  await roles.getByLabel('Only these').check();
  await roles.locator('#namespace-choices').getByRole('checkbox', { name: mine, exact: true }).check();
  await roles.getByRole('button', { name: 'Save role and namespaces' }).click();
  await expect(page.locator('#user-summary')).toContainText(mine);

  const context = await browser.newContext({
    baseURL: info.project.use.baseURL,
    javaScriptEnabled: info.project.use.javaScriptEnabled,
    storageState: { cookies: [], origins: [] },
  });
  const person = await context.newPage();
  await person.goto('/login');
  await person.getByLabel('Name').fill(viewer);
  await person.getByLabel('Password').fill(PASSWORD);
  await person.getByRole('button', { name: 'Sign in' }).click();
  await expect(person.locator('#signed-in-as')).toHaveText(viewer);
  await searchFromHeader(person, word);
  await expect(results(person)).toHaveCount(1);
  await expect(results(person).first()).toContainText(`${mine} / app / url`);
  await expect(person.locator('#search-form select[name=ns] option')).toHaveText(['All namespaces', mine]);
  // Naming the other namespace in the address finds nothing either.
  await person.goto(`/search?q=${word}&ns=${theirs}`);
  await expect(person.locator('#search-summary')).toHaveText(`Nothing matches “${word}”.`);
  await person.goto(`/search?q=${secret}`);
  await expect(person.locator('#search-summary')).toHaveText(`Nothing matches “${secret}”.`);
  await context.close();
});

test('the slash key focuses the search box on a page without a filter of its own', async ({ page, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled, 'needs JavaScript');
  await page.goto('/requests');
  await expect(page.locator('#live-status')).toHaveText('Live updates: on');
  await page.keyboard.press('/');
  await expect(page.locator('#header-search')).toBeFocused();
});
