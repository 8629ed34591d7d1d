import { expect, test } from './fixtures';
import { ADMIN, PASSWORD, SETUP_TOKEN, uniqueName } from './support';

// These start signed out.
test.use({ storageState: { cookies: [], origins: [] } });

test('a signed-out visitor is sent to sign in, then back to the page they asked for', async ({ page }) => {
  await page.goto('/account');
  await expect(page).toHaveURL(/\/login\?next=%2Faccount$|\/login\?next=\/account$/);
  await expect(page.locator('#namespace-list')).toHaveCount(0);
  await page.getByLabel('Name').fill(ADMIN);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { name: 'My account' })).toBeVisible();
});

test('a forged request without a session is refused and changes nothing', async ({ request }) => {
  const name = uniqueName('forged');
  const created = await request.post('/api/namespaces/create', { form: { name } });
  expect(created.status()).toBe(401);
  expect((await request.get('/api/namespaces/list')).status()).toBe(401);
});

test('sign in, then sign out ends the session', async ({ page }) => {
  await page.goto('/login');
  await page.getByLabel('Name').fill(ADMIN);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('do not match');
  // The name typed is kept, never the password, and neither is in the address.
  await expect(page.getByLabel('Name')).toHaveValue(ADMIN);
  await expect(page.getByLabel('Password')).toHaveValue('');
  expect(page.url()).not.toContain('not%20the%20password');

  await page.getByLabel('Name').fill(ADMIN);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#signed-in-as')).toHaveText(ADMIN);
  await expect(page.getByRole('heading', { name: 'Namespaces' })).toBeVisible();

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=/);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'confo_session');
  if (session) {
    // The browser may keep the cookie, but the server no longer knows the session.
    const listed = await page.request.get('/api/namespaces/list');
    expect(listed.status()).toBe(401);
  }
});

test('the set-up link works only while no user exists', async ({ page }) => {
  await page.goto(`/setup?token=${SETUP_TOKEN}`);
  await page.getByLabel('Your name').fill(uniqueName('second'));
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create the administrator' }).click();
  await expect(page.getByRole('alert')).toContainText('already set up');
});
