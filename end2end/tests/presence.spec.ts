import { expect, test, type Page } from './fixtures';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { ADMIN, PASSWORD, etcdEndpoints, uniqueName } from './support';

const root = path.resolve(__dirname, '..', '..');
const binary = path.join(root, 'target', 'release', 'confo');

async function signIn(page: Page, name: string) {
  await page.goto('/login');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#signed-in-as')).toHaveText(name);
}

test('people on two servers see who else has a configuration open, who is changing it, and when they leave', async ({ page, browser, javaScriptEnabled }, info) => {
  test.skip(!javaScriptEnabled || !etcdEndpoints, 'presence comes with live updates, across servers through etcd');
  const ns = uniqueName('here');
  expect((await page.request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
  for (const name of ['svc', 'other']) {
    expect((await page.request.post('/api/configurations/create', { form: { namespace: ns, name } })).status()).toBeLessThan(400);
  }
  const loaded = await (await page.request.get(`/api/configurations/get?namespace=${ns}&name=svc`)).json();
  expect((await page.request.post('/api/configurations/save', {
    form: { namespace: ns, name: 'svc', revision: String(loaded.revision), seq: String(loaded.seq), json: '{"limit": 1}', comment: '' },
  })).ok()).toBeTruthy();
  const viewer = uniqueName('vi');
  execFileSync(binary, ['user', 'add', '--role', 'viewer', viewer, '--etcd-endpoints', etcdEndpoints], {
    input: `${PASSWORD}\n`,
    env: { ...process.env, RUST_LOG: 'warn' },
  });

  // A second dashboard server on the same etcd.
  const port = Number(process.env.CONFO_E2E_PORT ?? '3100') + 70 + info.parallelIndex;
  const base = `http://127.0.0.1:${port}`;
  const server: ChildProcess = spawn(binary, ['serve', '--listen', `127.0.0.1:${port}`, '--etcd-endpoints', etcdEndpoints], {
    cwd: root,
    env: { ...process.env, LEPTOS_SITE_ROOT: path.join(root, 'target/site'), RUST_LOG: 'warn' },
  });
  const context = await browser.newContext({ baseURL: base, javaScriptEnabled: true });
  // A new context starts signed in as the administrator: the viewer signs in afresh.
  await context.clearCookies();
  try {
    await expect.poll(async () => (await fetch(`${base}/readyz`).catch(() => null))?.status, { timeout: 15_000 }).toBe(200);
    const other = await context.newPage();
    await signIn(other, viewer);

    await page.goto(`/ns/${ns}/svc`);
    await expect(page.locator('#live-status')).toHaveText('Live updates: on');
    await expect(page.locator('#present')).toHaveCount(0);
    await other.goto(`/ns/${ns}/svc`);
    await expect(other.locator('#present')).toHaveText(`Also here now: ${ADMIN}.`);
    await expect(page.locator('#present')).toHaveText(`Also here now: ${viewer}.`);
    // Only those on the same configuration.
    const elsewhere = await context.newPage();
    await elsewhere.goto(`/ns/${ns}/other`);
    await expect(elsewhere.locator('#live-status')).toHaveText('Live updates: on');
    await expect(elsewhere.locator('#present')).toHaveCount(0);
    await elsewhere.close();

    // The administrator opens a field: the other sees a change is under way.
    await page.getByRole('link', { name: 'Edit limit', exact: true }).click();
    await expect(other.locator('#present')).toHaveText(
      `Also here now: ${ADMIN}, in the middle of a change. Talk to them before you change the same setting.`,
    );
    // The administrator's own earlier page (same browser) is not "someone else".
    await expect(page.locator('#present')).toHaveText(`Also here now: ${viewer}.`);

    // The viewer leaves: gone from the administrator's page within seconds (released when the
    // page's stream ends, well before its lease of 10 s would run out).
    await other.close();
    await expect(page.locator('#present')).toHaveCount(0, { timeout: 8_000 });

    // Who is here is told only to those who may read the configuration.
    const anonymous = await browser.newContext({ baseURL: base });
    await anonymous.clearCookies();
    const refused = await anonymous.request.get(`/api/live?namespace=${ns}&configuration=svc&editing=false`);
    expect(refused.status()).toBeGreaterThanOrEqual(400);
    expect(await refused.text()).not.toContain(ADMIN);
    await anonymous.close();
  } finally {
    await context.close();
    await new Promise<void>((resolve) => {
      server.once('exit', () => resolve());
      server.kill('SIGTERM');
    });
  }
});
