import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADMIN_STATE, SETUP_TOKEN } from './tests/support';

// One server for every spec: the release binary the test script built, against the etcd the
// test script started (CONFO_E2E_ETCD_ENDPOINTS), or, without it, a fresh embedded store.
const port = process.env.CONFO_E2E_PORT ?? '3100';
const etcd = process.env.CONFO_E2E_ETCD_ENDPOINTS ?? '';
const root = path.resolve(__dirname, '..');
const binary = process.env.CONFO_E2E_BINARY ?? path.join(root, 'target/release/confo');

function storeArgs(): string[] {
  if (etcd) {
    return ['--etcd-endpoints', etcd];
  }
  // Only the main process starts the server; workers must not make directories of their own.
  if (process.env.TEST_WORKER_INDEX !== undefined) {
    return [];
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'confo-e2e-'));
  return ['--data-dir', dataDir];
}

const loaded = !!process.env.CONFO_E2E_LOADED;

export default defineConfig({
  testDir: './tests',
  globalSetup: require.resolve('./global-setup'),
  // A whole editing story takes 20-30 s on a shared two-core machine; with every core busy
  // (CONFO_E2E_LOADED, set by scripts/test.sh for its second run) each step is slower still.
  timeout: loaded ? 120_000 : 60_000,
  expect: { timeout: loaded ? 15_000 : 5_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    storageState: ADMIN_STATE,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CONFO_E2E_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'js', use: { javaScriptEnabled: true } },
    { name: 'no-js', use: { javaScriptEnabled: false } },
  ],
  webServer: {
    command: [
      binary,
      'serve',
      '--listen',
      `127.0.0.1:${port}`,
      '--setup-token',
      SETUP_TOKEN,
      ...storeArgs(),
    ]
      .map((arg) => `'${arg}'`)
      .join(' '),
    url: `http://127.0.0.1:${port}/readyz`,
    cwd: root,
    env: { LEPTOS_SITE_ROOT: path.join(root, 'target/site'), RUST_LOG: 'warn' },
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: 30_000,
  },
});
