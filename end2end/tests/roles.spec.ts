import { expect, test } from './fixtures';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { PASSWORD, etcdEndpoints, uniqueName } from './support';

// Accounts are made with the real `confo user add`, which needs a store it can share with the
// running server: etcd (the embedded store's file belongs to the server while it runs).
const binary = path.resolve(__dirname, '..', '..', 'target', 'release', 'confo');

function confo(args: string[], input?: string) {
  execFileSync(binary, [...args, '--etcd-endpoints', etcdEndpoints], {
    input,
    env: { ...process.env, RUST_LOG: 'warn' },
  });
}

test.use({ storageState: { cookies: [], origins: [] } });
test.skip(!etcdEndpoints, 'needs the etcd-backed server');

async function signIn(page: import('@playwright/test').Page, name: string) {
  await page.goto('/login');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#signed-in-as')).toHaveText(name);
}

test('a viewer sees no edit control, and a forged post as viewer is refused', async ({ page }) => {
  const viewer = uniqueName('viewer');
  confo(['user', 'add', '--role', 'viewer', viewer], `${PASSWORD}\n`);
  await signIn(page, viewer);
  await expect(page.getByRole('heading', { name: 'Namespaces' })).toBeVisible();
  await expect(page.locator('#namespace-list, #namespace-empty')).toHaveCount(1);
  await expect(page.getByRole('button', { name: 'Create' })).toHaveCount(0);

  const name = uniqueName('forged');
  const forged = await page.request.post('/api/namespaces/create', { form: { name } });
  expect(forged.status()).toBe(403);
  const listed = await page.request.get('/api/namespaces/list');
  expect(await listed.json()).not.toContain(name);
});

test('a disabled user is signed out at the next request', async ({ page }) => {
  const editor = uniqueName('editor');
  confo(['user', 'add', '--role', 'editor', editor], `${PASSWORD}\n`);
  await signIn(page, editor);
  confo(['user', 'disable', editor]);
  await page.reload();
  await expect(page).toHaveURL(/\/login\?next=/);
  await expect(page.locator('#signed-in-as')).toHaveCount(0);
});
