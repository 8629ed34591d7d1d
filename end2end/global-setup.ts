import { chromium, type FullConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADMIN, ADMIN_STATE, PASSWORD, SETUP_TOKEN } from './tests/support';

// First run, as a person does it: the set-up link creates the first administrator, whose signed-in
// session every spec then starts from.
export default async function globalSetup(config: FullConfig) {
  const { baseURL, launchOptions } = config.projects[0].use;
  const browser = await chromium.launch(launchOptions);
  const page = await browser.newPage({ baseURL });
  await page.goto(`/setup?token=${SETUP_TOKEN}`);
  await page.getByLabel('Your name').fill(ADMIN);
  await page.getByLabel(/^Password/).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create the administrator' }).click();
  await page.locator('#signed-in-as', { hasText: ADMIN }).waitFor();
  fs.mkdirSync(path.dirname(ADMIN_STATE), { recursive: true });
  await page.context().storageState({ path: ADMIN_STATE });
  await browser.close();
}
