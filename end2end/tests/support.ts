import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';

/** The first administrator, made by the global set-up through the first-run page. */
export const ADMIN = 'e2e-admin';
export const PASSWORD = 'correct horse battery staple';
/** The set-up token the server under test is started with. */
export const SETUP_TOKEN = 'e2e-setup-token-not-secret';
/** The administrator's signed-in browser state, which every spec starts from. */
export const ADMIN_STATE = path.join(__dirname, '..', '.tmp', 'admin.json');

/** A name no other test (or earlier run against the same store) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** The etcd members the server under test uses, or '' for the embedded store. */
export const etcdEndpoints = process.env.CONFO_E2E_ETCD_ENDPOINTS ?? '';

/** The value of `key` in etcd, read with the real etcdctl. */
export function etcdGet(key: string): string {
  return execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'get', key, '--print-value-only'], {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
  }).trim();
}
