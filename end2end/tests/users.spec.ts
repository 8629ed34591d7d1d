import { expect, test, type Browser, type Page, type TestInfo } from './fixtures';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { ADMIN, PASSWORD, etcdEndpoints, uniqueName } from './support';

/** A second browser, signed out, with the project's JavaScript setting. */
async function secondBrowser(browser: Browser, info: TestInfo, baseURL?: string): Promise<Page> {
  const context = await browser.newContext({
    baseURL: baseURL ?? info.project.use.baseURL,
    javaScriptEnabled: info.project.use.javaScriptEnabled,
    storageState: { cookies: [], origins: [] },
  });
  return context.newPage();
}

/** Invites `name` from the users page and answers the one-time link it shows. */
async function invite(page: Page, name: string, role: string, namespaces?: string): Promise<string> {
  await page.goto('/users');
  const form = page.locator('#invite');
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Role').selectOption(role);
  if (namespaces) {
    await form.getByLabel('Only these').check();
    await form.getByLabel(/^Not created yet/).fill(namespaces);
  } else {
    await form.getByLabel('All namespaces').check();
  }
  await form.getByRole('button', { name: 'Make an invitation link' }).click();
  await expect(page).toHaveURL(new RegExp(`/users/${name}$`));
  const link = await page.locator('#link').inputValue();
  expect(link).toMatch(new RegExp(`/invitation\\?name=${name}&token=[0-9a-f]{64}$`));
  return link;
}

test('namespaces are picked from those there are, and the invitation link is shown whole and copies', async ({ page, context, javaScriptEnabled }) => {
  const ns = uniqueName('pick');
  expect((await page.request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
  const name = uniqueName('pia');
  await page.goto('/users');
  const form = page.locator('#invite');
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Role').selectOption('editor');
  await form.getByLabel('Only these').check();
  await form.locator('#namespace-choices').getByRole('checkbox', { name: ns, exact: true }).check();
  await form.getByRole('button', { name: 'Make an invitation link' }).click();
  await expect(page).toHaveURL(new RegExp(`/users/${name}$`));
  await expect(page.locator('#user-summary')).toContainText(`editor · ${ns}`);
  await expect(page.locator('#unknown-namespaces')).toHaveCount(0);
  const link = await page.locator('#link').inputValue();
  expect(link).toMatch(new RegExp(`/invitation\\?name=${name}&token=[0-9a-f]{64}$`));
  // Whole: nothing of it is cut off.
  const cut = await page.locator('#link').evaluate((e: HTMLTextAreaElement) => e.scrollHeight > e.clientHeight || e.scrollWidth > e.clientWidth);
  expect(cut).toBe(false);
  const copy = page.getByRole('button', { name: 'Copy the link' });
  if (javaScriptEnabled) {
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    await copy.click();
    await expect(page.locator('#copied')).toHaveText('Copied.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  } else {
    await expect(copy).toBeHidden();
  }
});

/** Opens a one-time link and chooses `password`; the person is then signed in. */
async function choosePassword(page: Page, link: string, name: string, password: string) {
  await page.goto(link);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Password again').fill(password);
  await page.getByRole('button', { name: 'Save the password and sign in' }).click();
  await expect(page.locator('#signed-in-as')).toHaveText(name);
}

async function signIn(page: Page, name: string, password: string) {
  await page.goto('/login');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#signed-in-as')).toHaveText(name);
}

test('an invitation is accepted in a second browser, once', async ({ page, browser }, info) => {
  const name = uniqueName('grace');
  const link = await invite(page, name, 'editor', 'shop, web');
  await expect(page.locator('#user-summary')).toHaveText('editor · shop, web · invited');

  const newcomer = await secondBrowser(browser, info);
  await newcomer.goto(link);
  await expect(newcomer.getByRole('heading', { name: `Welcome to Confo, ${name}` })).toBeVisible();
  // Mistakes are explained, and nothing is created.
  await newcomer.getByLabel('Password', { exact: true }).fill('password');
  await newcomer.getByLabel('Password again').fill('password');
  await newcomer.getByRole('button', { name: 'Save the password and sign in' }).click();
  await expect(newcomer.getByRole('alert')).toContainText('too easy to guess');
  await choosePassword(newcomer, link, name, 'a passphrase grace chose');

  await page.reload();
  await expect(page.locator('#user-summary')).toHaveText('editor · shop, web · active');
  await expect(page.locator('#sessions tbody tr')).toHaveCount(1);

  // The link worked once.
  const third = await secondBrowser(browser, info);
  await third.goto(link);
  await expect(third.getByRole('alert')).toContainText('not valid');
  await third.context().close();
  await newcomer.context().close();
});

test('an administrator changes a role, resets a password and disables an account', async ({ page, browser }, info) => {
  const name = uniqueName('ruth');
  const person = await secondBrowser(browser, info);
  await choosePassword(person, await invite(page, name, 'viewer'), name, 'the first passphrase');
  await page.reload();

  // Role and namespaces.
  const roles = page.locator('#update-user');
  await roles.getByLabel('Role').selectOption('editor');
  await roles.getByLabel('Only these').check();
  await roles.getByLabel(/^Not created yet/).fill('payments');
  await roles.getByRole('button', { name: 'Save role and namespaces' }).click();
  await expect(page.locator('#user-summary')).toHaveText('editor · payments · active');
  // No namespace is called that: said where the grant is seen.
  await expect(page.locator('#unknown-namespaces')).toContainText('No namespace is called payments yet');

  // A reset link sets a new password; the old one stops working.
  await page.locator('#reset-password').getByRole('button').click();
  await expect(page.getByRole('heading', { name: 'Password reset link' })).toBeVisible();
  const reset = await page.locator('#link').inputValue();
  const again = await secondBrowser(browser, info);
  await again.goto(reset);
  await expect(again.getByRole('heading', { name: `Choose a new password, ${name}` })).toBeVisible();
  await choosePassword(again, reset, name, 'the second passphrase');
  await again.context().close();

  // Disabling throws the person out at their next request.
  await page.reload();
  await page.locator('#set-disabled').getByRole('button', { name: 'Disable the account' }).click();
  await expect(page.locator('#user-summary')).toHaveText('editor · payments · disabled');
  await expect(page.locator('#sessions tbody tr')).toHaveCount(0);
  await person.goto('/account');
  await expect(person).toHaveURL(/\/login\?next=/);
  await person.getByLabel('Name').fill(name);
  await person.getByLabel('Password').fill('the second passphrase');
  await person.getByRole('button', { name: 'Sign in' }).click();
  await expect(person.getByRole('alert')).toContainText('do not match');
  await person.context().close();
});

test('everyone changes their own password and sees their sessions and sign-ins', async ({ page, browser }, info) => {
  const name = uniqueName('mia');
  const mia = await secondBrowser(browser, info);
  await choosePassword(mia, await invite(page, name, 'viewer'), name, 'mia first passphrase');
  const elsewhere = await secondBrowser(browser, info);
  await signIn(elsewhere, name, 'mia first passphrase');

  await mia.goto('/account');
  await expect(mia.locator('#account-summary')).toHaveText(`${name} · viewer · all namespaces`);
  await expect(mia.locator('#my-sessions tbody tr')).toHaveCount(2);
  await expect(mia.locator('#recent-sign-ins')).toContainText('Signed in');
  await expect(mia.locator('#recent-sign-ins')).toContainText('Password chosen with a link');

  const form = mia.locator('#change-password');
  await form.getByLabel('Current password').fill('not my password');
  await form.getByLabel('New password (at least 8 characters)').fill('mia second passphrase');
  await form.getByLabel('New password again').fill('mia second passphrase');
  await form.getByRole('button', { name: 'Change the password' }).click();
  await expect(mia.getByRole('alert')).toContainText('current password is not right');

  await form.getByLabel('Current password').fill('mia first passphrase');
  await form.getByLabel('New password (at least 8 characters)').fill('mia second passphrase');
  await form.getByLabel('New password again').fill('mia second passphrase');
  await form.getByRole('button', { name: 'Change the password' }).click();
  await expect(mia.getByRole('status')).toContainText('password was changed');
  await expect(mia.locator('#my-sessions tbody tr')).toHaveCount(1);
  // The other browser was signed out.
  await elsewhere.goto('/account');
  await expect(elsewhere).toHaveURL(/\/login\?next=/);
  await signIn(elsewhere, name, 'mia second passphrase');
  await mia.context().close();
  await elsewhere.context().close();
});

test('a viewer cannot open the users page, and a forged invitation is refused', async ({ page, browser }, info) => {
  const name = uniqueName('vic');
  const vic = await secondBrowser(browser, info);
  await choosePassword(vic, await invite(page, name, 'viewer'), name, 'vic own passphrase');
  await vic.goto('/users');
  await expect(vic.getByRole('alert')).toContainText('may not do this');
  await expect(vic.locator('#invite')).toHaveCount(0);
  const forged = await vic.request.post('/api/users/invite', {
    form: { name: uniqueName('forged'), role: 'admin', access: 'all', namespaces: '' },
  });
  expect(forged.status()).toBe(403);
  await vic.context().close();
});

test.describe('with sessions in etcd', () => {
  test.skip(!etcdEndpoints, 'needs the etcd-backed server');

  test('an expired session sends you to sign in', async ({ page, browser }, info) => {
    const person = await secondBrowser(browser, info);
    await signIn(person, ADMIN, PASSWORD);
    const cookie = (await person.context().cookies()).find((c) => c.name === 'confo_session');
    expect(cookie).toBeDefined();
    // End the stored session's lease, as etcd does when the idle timeout passes.
    const etcdctl = (args: string[]) =>
      execFileSync('etcdctl', ['--endpoints', etcdEndpoints, ...args], {
        env: { ...process.env, ETCDCTL_API: '3' },
        encoding: 'utf8',
      });
    // (Read as text: a lease id does not fit in a JavaScript number.)
    // The store keeps a session under the SHA-256 of its id, never the id itself.
    const key = createHash('sha256').update(cookie!.value).digest('hex');
    expect(etcdctl(['get', '--prefix', '__confo/sessions/', '--keys-only'])).not.toContain(cookie!.value);
    const stored = etcdctl(['get', `__confo/sessions/${key}`, '-w', 'json']);
    const lease = BigInt(stored.match(/"lease":(\d+)/)![1]).toString(16);
    etcdctl(['lease', 'revoke', lease]);
    await person.goto('/users');
    await expect(person).toHaveURL(/\/login\?next=%2Fusers$|\/login\?next=\/users$/);
    await person.context().close();
    await page.goto('/users');
    await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible();
  });

  test('a session survives a restart of the server, and live updates reconnect by themselves', async ({ browser, javaScriptEnabled }, info) => {
    const root = path.resolve(__dirname, '..', '..');
    const port = Number(process.env.CONFO_E2E_PORT ?? '3100') + 50 + info.parallelIndex;
    const base = `http://127.0.0.1:${port}`;
    const start = async (): Promise<ChildProcess> => {
      const server = spawn(
        path.join(root, 'target/release/confo'),
        ['serve', '--listen', `127.0.0.1:${port}`, '--etcd-endpoints', etcdEndpoints],
        { cwd: root, env: { ...process.env, LEPTOS_SITE_ROOT: path.join(root, 'target/site'), RUST_LOG: 'warn' } },
      );
      await expect
        .poll(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status, { timeout: 15_000 })
        .toBe(200);
      return server;
    };
    const stop = (server: ChildProcess) =>
      new Promise<void>((resolve) => {
        server.once('exit', () => resolve());
        server.kill('SIGTERM');
      });

    let server = await start();
    const person = await secondBrowser(browser, info, base);
    try {
      await signIn(person, ADMIN, PASSWORD);
      const ns = uniqueName('rec');
      const live = person.locator('#live-status');
      if (javaScriptEnabled) {
        expect((await person.request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
        expect((await person.request.post('/api/configurations/create', { form: { namespace: ns, name: 'svc' } })).status()).toBeLessThan(400);
        await person.goto(`/ns/${ns}/svc`);
        await expect(live).toHaveText('Live updates: on');
      }
      await stop(server);
      if (javaScriptEnabled) {
        await expect(live).toHaveText('Live updates: reconnecting…');
      }
      server = await start();
      if (javaScriptEnabled) {
        await expect(live).toHaveText('Live updates: on', { timeout: 15_000 });
        execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'put', `${ns}-svc`, '{"back": true}'], {
          env: { ...process.env, ETCDCTL_API: '3' },
        });
        await expect(person.locator('#fields tbody th', { hasText: 'back' })).toBeVisible();
      }
      await person.goto('/account');
      await expect(person.getByRole('heading', { name: 'My account' })).toBeVisible();
      await expect(person.locator('#signed-in-as')).toHaveText(ADMIN);
    } finally {
      await person.context().close();
      await stop(server);
    }
  });
});

test('an invited person sees the getting-started guide for their role until they dismiss it', async ({ page, browser }, info) => {
  const name = uniqueName('ines');
  const person = await secondBrowser(browser, info);
  await choosePassword(person, await invite(page, name, 'editor'), name, 'a passphrase ines chose');
  await person.goto('/');
  const guide = person.locator('#guide');
  await expect(guide).toContainText('a namespace holds the configurations of one team');
  await expect(guide).toContainText('Review change');
  await expect(guide).toContainText('Revert');
  await expect(guide).not.toContainText('As an administrator');
  await guide.getByRole('button', { name: 'Got it, hide this guide' }).click();
  await expect(person.locator('#guide')).toHaveCount(0);
  // Remembered for the person, not the browser: gone after signing in again elsewhere.
  await person.reload();
  await expect(person.locator('#namespaces-live')).toBeVisible();
  await expect(person.locator('#guide')).toHaveCount(0);
  const elsewhere = await secondBrowser(browser, info);
  await signIn(elsewhere, name, 'a passphrase ines chose');
  await elsewhere.goto('/');
  await expect(elsewhere.locator('#namespaces-live')).toBeVisible();
  await expect(elsewhere.locator('#guide')).toHaveCount(0);
  // The administrator who was never invited sees none.
  await page.goto('/');
  await expect(page.locator('#namespaces-live')).toBeVisible();
  await expect(page.locator('#guide')).toHaveCount(0);
  await elsewhere.context().close();
  await person.context().close();
});
