import { test, expect, Page } from '@playwright/test';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PASSWORD } from './support';
import { reviewValue } from './fields';

// The configuration store stops answering under a running dashboard, then comes back. This spec
// has an etcd and a server of its own, so that stopping etcd disturbs no other spec.

const root = path.resolve(__dirname, '..', '..');
const binary = path.join(root, 'target', 'release', 'confo');

/** `count` loopback ports that were free: all held open together, then released. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
  return ports;
}

/** Asks `check` every 100 ms until it holds (at most `seconds`). */
async function until(check: () => Promise<boolean>, seconds: number, what: string) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function answers(url: string): Promise<number> {
  try {
    return (await fetch(url)).status;
  } catch {
    return 0;
  }
}

class Etcd {
  process?: ChildProcess;
  constructor(
    readonly dir: string,
    readonly client: number,
    readonly peer: number,
  ) {}
  get endpoint() {
    return `127.0.0.1:${this.client}`;
  }
  async start() {
    this.process = spawn(
      'etcd',
      [
        '--name', 'outage',
        '--data-dir', this.dir,
        '--listen-client-urls', `http://${this.endpoint}`,
        '--advertise-client-urls', `http://${this.endpoint}`,
        '--listen-peer-urls', `http://127.0.0.1:${this.peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${this.peer}`,
        '--initial-cluster', `outage=http://127.0.0.1:${this.peer}`,
        '--log-level', 'error',
      ],
      { stdio: 'ignore' },
    );
    await until(async () => (await answers(`http://${this.endpoint}/health`)) === 200, 20, 'etcd answers');
  }
  async stop() {
    const running = this.process;
    this.process = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const stopped = new Promise((r) => running.once('exit', r));
    running.kill('SIGKILL');
    await stopped;
  }
  put(key: string, value: string) {
    execFileSync('etcdctl', ['--endpoints', this.endpoint, 'put', key, value], {
      env: { ...process.env, ETCDCTL_API: '3' },
    });
  }
  get(key: string): string {
    return execFileSync('etcdctl', ['--endpoints', this.endpoint, 'get', key, '--print-value-only'], {
      env: { ...process.env, ETCDCTL_API: '3' },
      encoding: 'utf8',
    }).trim();
  }
}

test.describe('the store goes away and comes back', () => {
  test.skip(({ javaScriptEnabled }) => !javaScriptEnabled, 'recovering by itself needs JavaScript');

  let etcd: Etcd;
  let server: ChildProcess;
  let base: string;
  let dir: string;

  test.beforeAll(async ({}, info) => {
    if (!info.project.use.javaScriptEnabled) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'confo-outage-'));
    const [client, peer, port] = await freePorts(3);
    etcd = new Etcd(path.join(dir, 'etcd'), client, peer);
    await etcd.start();
    execFileSync(binary, ['user', 'add', '--admin', 'ada', '--etcd-endpoints', etcd.endpoint], {
      input: `${PASSWORD}\n`,
      env: { ...process.env, RUST_LOG: 'warn' },
    });
    // Laid out as the original Confo writes it.
    etcd.put('confo', '{"namespaces":["outage"]}');
    etcd.put('outage', '{"configurations":["app"]}');
    etcd.put('outage-app', '{"limit":5}');
    base = `http://127.0.0.1:${port}`;
    server = spawn(
      binary,
      ['serve', '--listen', `127.0.0.1:${port}`, '--etcd-endpoints', etcd.endpoint, '--etcd-timeout', '1s'],
      { env: { ...process.env, LEPTOS_SITE_ROOT: path.join(root, 'target', 'site'), RUST_LOG: 'error' }, stdio: 'ignore' },
    );
    await until(async () => (await answers(`${base}/readyz`)) === 200, 30, 'the server is ready');
  });

  test.afterAll(async () => {
    server?.kill('SIGKILL');
    await etcd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Sends the sign-in form as ada, from a browser holding no cookie. */
  async function sendSignIn(page: Page) {
    await page.context().clearCookies();
    await page.goto(`${base}/login`);
    await page.getByLabel('Name').fill('ada');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  async function signIn(page: Page) {
    await sendSignIn(page);
    await expect(page.locator('#signed-in-as')).toHaveText('ada');
  }

  test('a signed-in person is told the store cannot be reached, a save keeps the change, and the pages recover', async ({ page, browser }) => {
    // etcd is stopped and started again, and pages wait for it: more than the usual 30 s.
    test.setTimeout(120_000);
    await signIn(page);
    // A change reviewed while the store answers ...
    await page.goto(`${base}/ns/outage/app`);
    await reviewValue(page, 'limit', '6');
    await expect(page.locator('#review')).toContainText('6');
    // ... and another page of the same person, open on the namespace.
    const other = await page.context().newPage();
    await other.goto(`${base}/ns/outage`);
    await expect(other.locator('#live-status')).toHaveText('Live updates: on');

    await etcd.stop();
    expect(await answers(`${base}/readyz`)).toBe(503);

    // The save is refused in words and nothing is written; the change stays in the page's
    // address, to be reviewed and saved again.
    expect(page.url()).toContain('value=6');
    await page.locator('#review').getByRole('button', { name: 'Save' }).click();
    const alert = page.locator('.error-message').first();
    await expect(alert).toContainText('cannot be reached');
    await expect(alert).toContainText('nothing was changed');
    await expect(page).toHaveURL(/value=6/);

    // A page opened now says the store cannot be reached: it is not the sign-in page.
    await other.reload();
    await expect(other).toHaveURL(`${base}/ns/outage`);
    await expect(other.locator('.error-message')).toContainText('cannot be reached');
    await expect(other.locator('#store-status')).toContainText('as soon as the store answers');
    await expect(other.getByLabel('Password')).toHaveCount(0);

    // Signing in meanwhile says why it cannot work.
    const newcomer = await browser.newPage();
    await sendSignIn(newcomer);
    await expect(newcomer.locator('.error-message')).toContainText('configuration store cannot be reached');
    await newcomer.close();

    // The store comes back: the page shows itself again, by itself.
    await etcd.start();
    await expect(other.locator('.error-message')).toHaveCount(0, { timeout: 20_000 });
    await expect(other.getByRole('link', { name: 'app' })).toBeVisible();

    // The page with the change comes back too, with the change to save and without the old error.
    await expect(page.locator('.error-message')).toHaveCount(0, { timeout: 20_000 });
    await expect(page.locator('#review')).toContainText('6');
    await page.locator('#review').getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => etcd.get('outage-app')).toBe('{"limit":6}');
  });
});
