// Four eyes before production: in a reviewed namespace a change is sent for review, approved by
// someone else, and published in one transaction; a configuration changed meanwhile stops the
// publish until the request is re-based. Several people, each in a browser of their own.
import { expect, test, type Browser, type Page } from './fixtures';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { ADMIN, PASSWORD, etcdEndpoints, etcdGet, uniqueName } from './support';
import { reviewValue } from './fields';

const binary = path.resolve(__dirname, '..', '..', 'target', 'release', 'confo');

function confo(args: string[], input?: string) {
  execFileSync(binary, [...args, '--etcd-endpoints', etcdEndpoints], {
    input,
    env: { ...process.env, RUST_LOG: 'warn' },
  });
}

function etcdPut(key: string, value: string) {
  execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'put', key, value], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
}

/** The revision `key` was last written at, from etcdctl. */
function modRevision(key: string): number {
  const out = execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'get', key, '-w', 'json'], {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
  });
  return Number(JSON.parse(out).kvs[0].mod_revision);
}

type Entry = { request?: number; configuration?: string; action: string; actor: { name: string } };

/** Every audit entry in etcd, as stored. */
function auditEntries(): Entry[] {
  const out = execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'get', '--prefix', '__confo/audit/log/', '--print-value-only'], {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Entry);
}

test.use({ storageState: { cookies: [], origins: [] } });
test.skip(!etcdEndpoints, 'people are added with `confo user add`, which shares etcd with the server');

async function signedIn(browser: Browser, name: string): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#signed-in-as')).toHaveText(name);
  return page;
}

/** A namespace with configurations db {host, port} and web {workers}, reviewed by editors. */
async function reviewedNamespace(admin: Page): Promise<string> {
  const ns = uniqueName('prod');
  expect((await admin.request.post('/api/namespaces/create', { form: { name: ns } })).status()).toBeLessThan(400);
  for (const [name, json] of [
    ['db', '{"host": "a", "port": 1}'],
    ['web', '{"workers": 2}'],
  ]) {
    expect((await admin.request.post('/api/configurations/create', { form: { namespace: ns, name } })).status()).toBeLessThan(400);
    const view = await (await admin.request.get(`/api/configurations/get?namespace=${ns}&name=${name}`)).json();
    const saved = await admin.request.post('/api/configurations/save', {
      form: { namespace: ns, name, revision: String(view.revision), seq: String(view.seq), json, comment: '' },
    });
    expect(saved.status()).toBeLessThan(400);
  }
  // Switched to reviewed on its settings page, as an administrator does.
  await admin.goto(`/ns/${ns}/settings`);
  const form = admin.locator('#review-policy-form');
  await form.getByLabel(/Sent for review/).check();
  await form.getByLabel(/Approvals each request needs/).fill('1');
  await form.getByLabel('Editors of this namespace').check();
  await form.getByRole('button', { name: 'Save how changes are made' }).click();
  await expect(admin.locator('p#review')).toContainText('Changes here are sent for review: each needs 1 approval');
  return ns;
}

/** Sends a new value of `place` in `cfg` for review; `into`: a request number to add it to, or 'draft'. */
async function propose(page: Page, ns: string, cfg: string, place: string, value: string, into?: number | 'draft'): Promise<number> {
  await page.goto(`/ns/${ns}/${cfg}`);
  await expect(page.locator('#review-policy')).toContainText('Your changes are sent for review');
  const review = await reviewValue(page, place, value);
  await expect(review.locator('#review-reviewed')).toContainText('Nothing changes until someone else approves it');
  if (into !== undefined) {
    await review.getByLabel('Send it in').selectOption(String(into));
  }
  await review.getByRole('button', { name: 'Send for review' }).click();
  await expect(page).toHaveURL(/\/requests\/\d+\?sent=1$/);
  await expect(page.locator('#request-notice')).toContainText('sent for review');
  return Number(new URL(page.url()).pathname.split('/').pop());
}

test('a change to two configurations is approved by someone else and published in one transaction', async ({ browser }) => {
  const [ann, bob] = [uniqueName('ann'), uniqueName('bob')];
  confo(['user', 'add', '--role', 'editor', ann], `${PASSWORD}\n`);
  confo(['user', 'add', '--role', 'editor', bob], `${PASSWORD}\n`);
  const admin = await signedIn(browser, ADMIN);
  const ns = await reviewedNamespace(admin);

  const author = await signedIn(browser, ann);
  const id = await propose(author, ns, 'db', 'port', '5432');
  expect(await propose(author, ns, 'web', 'workers', '8', id)).toBe(id);
  // Nothing is written yet.
  expect(JSON.parse(etcdGet(`${ns}-db`))).toEqual({ host: 'a', port: 1 });
  expect(JSON.parse(etcdGet(`${ns}-web`))).toEqual({ workers: 2 });
  await expect(author.locator('section.request-change')).toHaveCount(2);
  await expect(author.locator('section[data-configuration="db"] td.after')).toHaveText('5432');
  await expect(author.locator('#request-state [data-state]')).toHaveText('in review');
  // The author can neither approve nor publish it.
  await expect(author.locator('#approve')).toHaveCount(0);
  await expect(author.locator('#publish')).toHaveCount(0);
  const forged = await author.request.post('/api/requests/approve', { form: { id: String(id), seen: '1' } });
  expect(forged.status()).toBe(403);

  // It waits for others' review, not for its author's. (Other specs' requests may wait for the
  // same people, so the lists are checked for this one.)
  const row = (page: Page) => page.locator(`#requests tr[data-request="${id}"]`);
  await author.goto('/requests?show=waiting');
  await expect(row(author)).toHaveCount(0);
  await author.goto('/requests?show=mine');
  await expect(row(author)).toHaveCount(1);
  // With JavaScript, the author's open request page follows what happens to it.
  const live = test.info().project.name === 'js';
  if (live) {
    await author.goto(`/requests/${id}`);
    await expect(author.locator('#live-status')).toHaveText('Live updates: on');
  }
  const reviewer = await signedIn(browser, bob);
  await expect(reviewer.locator('#waiting-badge')).toHaveText(/^[1-9]\d*$/);
  await reviewer.goto('/requests?show=waiting');
  await row(reviewer).locator('a').click();
  await reviewer.getByRole('button', { name: 'Approve' }).click();
  await expect(reviewer.locator('#request-state [data-state]')).toHaveText('approved');
  await expect(reviewer.locator('#approvals')).toHaveText(`Approved by ${bob}.`);
  await reviewer.goto('/requests?show=waiting');
  await expect(row(reviewer)).toHaveCount(0);
  if (live) {
    await expect(author.locator('#request-state [data-state]')).toHaveText('approved');
    await expect(author.locator('#approvals')).toHaveText(`Approved by ${bob}.`);
  }

  // The author publishes: both written, in one transaction, each audited with the request.
  await author.goto(`/requests/${id}`);
  await author.getByRole('button', { name: /^Publish: write every configuration/ }).click();
  await expect(author.locator('#request-notice')).toContainText('Published');
  await expect(author.locator('#request-state [data-state]')).toHaveText('published');
  expect(JSON.parse(etcdGet(`${ns}-db`))).toEqual({ host: 'a', port: 5432 });
  expect(JSON.parse(etcdGet(`${ns}-web`))).toEqual({ workers: 8 });
  expect(modRevision(`${ns}-db`)).toBe(modRevision(`${ns}-web`));
  const linked = auditEntries()
    .filter((entry) => entry.request === id && entry.configuration)
    .map((entry) => `${entry.action} ${entry.configuration} by ${entry.actor.name}`)
    .sort();
  expect(linked).toEqual([`field.set db by ${ann}`, `field.set web by ${ann}`]);
  await author.context().close();
  await reviewer.context().close();
  await admin.context().close();
});

test('a request whose configurations changed meanwhile is stopped, re-based where nobody else touched them, resolved by hand where they did, and published', async ({ browser }) => {
  const [ann, bob] = [uniqueName('ann'), uniqueName('bob')];
  confo(['user', 'add', '--role', 'editor', ann], `${PASSWORD}\n`);
  confo(['user', 'add', '--role', 'editor', bob], `${PASSWORD}\n`);
  const admin = await signedIn(browser, ADMIN);
  const ns = await reviewedNamespace(admin);
  const author = await signedIn(browser, ann);
  const id = await propose(author, ns, 'db', 'port', '6000');
  expect(await propose(author, ns, 'web', 'workers', '8', id)).toBe(id);
  const reviewer = await signedIn(browser, bob);
  await reviewer.goto(`/requests/${id}`);
  // A comment on one field, shown with its configuration.
  const web = reviewer.locator('section[data-configuration="web"]');
  await web.getByText('Comment on web…').click();
  await web.locator('select[name="field"]').selectOption('workers');
  await web.locator('textarea[name="text"]').fill('8 workers, on two cores?');
  await web.getByRole('button', { name: 'Add the comment' }).click();
  await expect(reviewer.locator('[data-comments="web"] li')).toContainText(`${bob} on workers`);
  await expect(reviewer.locator('[data-comments="web"] li')).toContainText('8 workers, on two cores?');
  await expect(reviewer.locator('[data-comments="db"] li')).toHaveCount(0);
  await reviewer.getByRole('button', { name: 'Approve' }).click();
  await expect(reviewer.locator('#request-state [data-state]')).toHaveText('approved');

  // Another tool changes another field of db, and the same field of web.
  etcdPut(`${ns}-db`, '{"host": "b", "port": 1}');
  etcdPut(`${ns}-web`, '{"workers": 3}');
  await author.goto(`/requests/${id}`);
  await expect(author.locator('#stale-notice')).toContainText('db, web changed since this request was made');
  // Three sides per field: as the request found it, as stored now, as the request has it.
  const workers = author.locator('section[data-configuration="web"] [data-three-way] tr[data-field="workers"]');
  await expect(workers).toHaveClass(/overlap/);
  await expect(workers.locator('td')).toHaveText(['2', '3', '8']);
  const host = author.locator('section[data-configuration="db"] [data-three-way] tr[data-field="host"]');
  await expect(host).not.toHaveClass(/overlap/);
  await expect(host.locator('td')).toHaveText(['"a"', '"b"', '"a" (unchanged)']);
  await expect(author.locator('section[data-configuration="db"] [data-three-way] tr[data-field="port"] td')).toHaveText(['1', '1 (unchanged)', '6000']);
  await expect(author.locator('section[data-configuration="db"] [data-rebases]')).toBeVisible();
  await expect(author.locator('section[data-configuration="web"] [data-overlap]')).toContainText('Both changed workers');
  await author.getByRole('button', { name: /^Publish/ }).click();
  await expect(author.getByRole('alert').filter({ hasText: 'was not published' })).toBeVisible();
  expect(JSON.parse(etcdGet(`${ns}-db`))).toEqual({ host: 'b', port: 1 });
  expect(JSON.parse(etcdGet(`${ns}-web`))).toEqual({ workers: 3 });

  // Re-basing takes db onto its latest version; web overlaps, and stays to be resolved.
  await author.goto(`/requests/${id}`);
  await author.getByRole('button', { name: 'Re-base on the latest versions' }).click();
  await expect(author.locator('#request-notice')).toContainText('needs approving again');
  await expect(author.locator('#request-state [data-state]')).toHaveText('in review');
  await expect(author.locator('section[data-configuration="db"] [data-stale]')).toHaveCount(0);
  await expect(author.locator('section[data-configuration="web"] [data-overlap]')).toBeVisible();
  // Resolved by hand: the author takes web out (their change to it can be sent again on the latest version).
  await author.locator('section[data-configuration="web"]').getByRole('button', { name: 'Take it out of this request' }).click();
  await expect(author.locator('section.request-change')).toHaveCount(1);
  await expect(author.locator('#stale-notice')).toHaveCount(0);

  await reviewer.goto(`/requests/${id}`);
  await reviewer.getByRole('button', { name: 'Approve' }).click();
  await reviewer.getByRole('button', { name: /^Publish/ }).click();
  await expect(reviewer.locator('#request-state [data-state]')).toHaveText('published');
  expect(JSON.parse(etcdGet(`${ns}-db`))).toEqual({ host: 'b', port: 6000 });
  expect(JSON.parse(etcdGet(`${ns}-web`))).toEqual({ workers: 3 });
  await author.context().close();
  await reviewer.context().close();
  await admin.context().close();
});

test('an administrator publishes without approval only with a reason, and it shows', async ({ browser }) => {
  const ann = uniqueName('ann');
  confo(['user', 'add', '--role', 'editor', ann], `${PASSWORD}\n`);
  const admin = await signedIn(browser, ADMIN);
  const ns = await reviewedNamespace(admin);
  const author = await signedIn(browser, ann);
  const id = await propose(author, ns, 'web', 'workers', '1');
  await expect(author.locator('#emergency-box')).toHaveCount(0);

  await admin.goto(`/requests/${id}`);
  await admin.locator('#emergency-box summary').click();
  await admin.getByLabel(/^Why it cannot wait/).fill('the site is down');
  await admin.getByRole('button', { name: 'Publish without approval' }).click();
  await expect(admin.locator('#emergency-notice')).toHaveText('Published in an emergency, without approval: the site is down');
  expect(JSON.parse(etcdGet(`${ns}-web`))).toEqual({ workers: 1 });
  await author.goto(`/requests/${id}`);
  await expect(author.locator('#timeline li.emergency')).toContainText('the site is down');
  await author.context().close();
  await admin.context().close();
});

test('a draft waits for its author, and an approved request changed again needs approval again', async ({ browser }) => {
  const [ann, bob] = [uniqueName('ann'), uniqueName('bob')];
  confo(['user', 'add', '--role', 'editor', ann], `${PASSWORD}\n`);
  confo(['user', 'add', '--role', 'editor', bob], `${PASSWORD}\n`);
  const admin = await signedIn(browser, ADMIN);
  const ns = await reviewedNamespace(admin);
  const author = await signedIn(browser, ann);
  const id = await propose(author, ns, 'db', 'host', 'db2', 'draft');
  await expect(author.locator('#request-state [data-state]')).toHaveText('draft');

  const reviewer = await signedIn(browser, bob);
  await reviewer.goto(`/requests/${id}`);
  await expect(reviewer.locator('#request-state [data-state]')).toHaveText('draft');
  await expect(reviewer.locator('#approve')).toHaveCount(0);
  const early = await reviewer.request.post('/api/requests/approve', { form: { id: String(id), seen: '1' } });
  expect(early.status()).toBe(403);

  await author.getByRole('button', { name: 'Send for review' }).click();
  await expect(author.locator('#request-state [data-state]')).toHaveText('in review');
  await reviewer.goto(`/requests/${id}`);
  await reviewer.getByRole('button', { name: 'Approve' }).click();
  await expect(reviewer.locator('#request-state [data-state]')).toHaveText('approved');

  // Its author changes it: back to review, the approval gone, and nothing published.
  await author.goto(`/requests/${id}`);
  await author.locator('#edit-request summary').click();
  await author.getByLabel('Title').fill('Move to the second database host');
  await author.getByRole('button', { name: 'Save the title and description' }).click();
  await expect(author.getByRole('heading', { level: 1 })).toHaveText(`Request ${id}: Move to the second database host`);
  await expect(author.locator('#request-state [data-state]')).toHaveText('in review');
  await expect(author.locator('#approvals')).toHaveText('No approvals yet.');
  const publish = await author.request.post('/api/requests/publish', { form: { id: String(id) } });
  expect(publish.status()).toBe(403);
  expect(JSON.parse(etcdGet(`${ns}-db`))).toEqual({ host: 'a', port: 1 });
  await author.context().close();
  await reviewer.context().close();
  await admin.context().close();
});

test('a schema change in a reviewed namespace is sent for review with its check, and written when published', async ({ browser }) => {
  const bob = uniqueName('bob');
  confo(['user', 'add', '--role', 'editor', bob], `${PASSWORD}\n`);
  const admin = await signedIn(browser, ADMIN);
  const ns = await reviewedNamespace(admin);
  const settingsKey = `__confo/settings/${ns}`;
  const before = etcdGet(settingsKey);
  const schema = { type: 'object', properties: { workers: { type: 'integer', maximum: 1 } } };
  await admin.goto(`/ns/${ns}/web/schema`);
  await admin.locator('#schema-json').fill(JSON.stringify(schema));
  await admin.locator('#schema-own').getByRole('button', { name: 'Check against the current value' }).click();
  await expect(admin.locator('#schema-save [data-reviewed]')).toContainText('sent for review');
  await admin.locator('#schema-save').getByRole('button', { name: 'Save this schema' }).click();
  await expect(admin).toHaveURL(/\/requests\/\d+\?sent=1$/);
  const id = Number(new URL(admin.url()).pathname.split('/').pop());
  // Proposed, not written; the reviewers see what it would do to web as it is.
  expect(etcdGet(settingsKey)).toEqual(before);
  const reviewer = await signedIn(browser, bob);
  await reviewer.goto(`/requests/${id}`);
  const place = reviewer.locator('#schema-changes tr[data-place="the schema of web"]');
  await expect(place.locator('td.before')).toHaveText('(no schema)');
  await expect(place.locator('td.after')).toContainText('"maximum": 1');
  await expect(reviewer.locator('#schema-checks li[data-check="web"]')).toContainText('web would not match it');
  await expect(reviewer.locator('#schema-checks li[data-check="web"]')).toContainText('workers');
  await reviewer.getByRole('button', { name: 'Approve' }).click();
  await expect(reviewer.locator('#request-state [data-state]')).toHaveText('approved');
  await reviewer.getByRole('button', { name: /^Publish/ }).click();
  await expect(reviewer.locator('#request-state [data-state]')).toHaveText('published');
  const settings = JSON.parse(etcdGet(settingsKey));
  expect(settings.assignments.web).toEqual({ own: schema });
  // Published: nothing of it is shown as changed meanwhile.
  await expect(reviewer.locator('#stale-notice')).toHaveCount(0);
  expect(auditEntries().filter((e) => e.request === id).map((e) => e.action)).toContain('schema.assign');

  // The list is filtered by namespace, as an address.
  await reviewer.goto(`/requests?show=all&ns=${ns}`);
  await expect(reviewer.locator(`#requests tr[data-request="${id}"]`)).toContainText('(schemas)');
  await expect(reviewer.locator('#requests tbody tr')).toHaveCount(1);
  await reviewer.goto(`/requests?show=all&ns=${ns}-other`);
  await expect(reviewer.locator('#no-requests')).toBeVisible();
  await reviewer.locator('#request-namespace select').selectOption(ns);
  await reviewer.locator('#request-namespace').getByRole('button', { name: 'Show' }).click();
  await expect(reviewer).toHaveURL(new RegExp(`ns=${ns}$`));
  await expect(reviewer.locator(`#requests tr[data-request="${id}"]`)).toHaveCount(1);
  await reviewer.context().close();
  await admin.context().close();
});
