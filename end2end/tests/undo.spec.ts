import { expect, test, type Page } from './fixtures';
import { uniqueName } from './support';

/** A namespace with configuration `web` holding `{"limit": 1, "mode": "fast"}`, opened. */
async function configuration(page: Page): Promise<string> {
  const ns = uniqueName('undons');
  await page.goto('/');
  await page.getByLabel('Name', { exact: true }).fill(ns);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.locator('#namespace-list li', { hasText: ns })).toBeVisible();
  await page.goto(`/ns/${ns}`);
  const create = page.locator('#create-configuration');
  await create.getByLabel('Name').fill('web');
  await create.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/web$`));
  for (const [field, kind, value] of [
    ['limit', 'number', '1'],
    ['mode', 'text', 'fast'],
  ]) {
    const add = page.locator('#add-field');
    await add.getByLabel('Field name').fill(field);
    await add.getByLabel('Kind of value').selectOption(kind);
    await add.getByLabel('Value', { exact: true }).fill(value);
    await add.getByRole('button', { name: 'Review new field' }).click();
    await page.locator('#review').getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('#saved-summary')).toHaveText(`${field}: added, ${kind === 'text' ? `"${value}"` : value}`);
  }
  return ns;
}

/** Sets `field` to `value` through its row: review, then save. */
async function change(page: Page, field: string, value: string) {
  const row = page.locator('#fields tbody tr.field', { hasText: field });
  await row.getByLabel(/^Value of /).fill(value);
  await row.getByRole('button', { name: 'Review change' }).click();
  await page.locator('#review').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#review')).toHaveCount(0);
}

async function fields(page: Page, ns: string): Promise<unknown> {
  const api = await page.request.get(`/api/configurations/get?namespace=${ns}&name=web`);
  return JSON.parse((await api.json()).json);
}

test('a save is confirmed where it happened, and Undo takes back exactly that change', async ({ page }) => {
  const ns = await configuration(page);
  await change(page, 'limit', '5');

  // The confirmation names the change, the row is marked, and Undo has the focus.
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/web\\?saved=\\d+$`));
  await expect(page.locator('#saved-summary')).toHaveText('limit: 1 → 5');
  await expect(page.locator('#fields tr.just-changed')).toHaveCount(1);
  await expect(page.locator('#fields tr.just-changed th')).toHaveText('limit');
  await expect(page.locator('#undo').getByRole('button', { name: 'Undo' })).toBeFocused();

  await page.locator('#undo').getByRole('button', { name: 'Undo' }).click();
  await expect(page.locator('#saved-summary')).toHaveText('limit: 5 → 1');
  expect(await fields(page, ns)).toEqual({ limit: 1, mode: 'fast' });
  await page.getByRole('link', { name: 'History' }).click();
  await expect(page.locator('#versions tbody tr').first()).toContainText('took back a change (limit)');
});

test('one earlier change is taken back alone from the history, unless a later change touched it', async ({ page }) => {
  const ns = await configuration(page);
  await change(page, 'mode', 'safe');
  await change(page, 'limit', '2');
  await change(page, 'limit', '3');

  // The change to mode, two versions back: only mode goes back; both later limits stay.
  await page.goto(`/ns/${ns}/web/history`);
  const versions = page.locator('#versions tbody tr');
  await expect(versions).toHaveCount(6);
  await versions.nth(2).getByRole('link', { name: 'Take back' }).click();
  const preview = page.locator('#take-back');
  await expect(preview.locator('tbody tr')).toHaveCount(1);
  await expect(preview.locator('tbody th')).toHaveText('mode');
  await expect(preview.locator('td.before')).toHaveText('"safe"');
  await expect(preview.locator('td.after')).toHaveText('"fast"');
  expect(await fields(page, ns)).toEqual({ limit: 3, mode: 'safe' });
  await preview.getByRole('button', { name: 'Take back this change' }).click();
  await expect(page.locator('#saved-summary')).toHaveText('mode: "safe" → "fast"');
  expect(await fields(page, ns)).toEqual({ limit: 3, mode: 'fast' });

  // The first change to limit was changed again since: refused, naming the later version.
  await page.goto(`/ns/${ns}/web/history`);
  const later = (await versions.nth(1).locator('td').first().innerText()).replace('#', '');
  await versions.nth(2).getByRole('link', { name: 'Take back' }).click();
  await expect(page.locator('#take-back')).toContainText('cannot be taken back alone');
  await expect(page.locator('#take-back [role=alert]')).toContainText(`version ${later} by e2e-admin`);
  await expect(page.locator('#take-back-form')).toHaveCount(0);
  expect(await fields(page, ns)).toEqual({ limit: 3, mode: 'fast' });
});

test('the audit log leads to one change and takes it back', async ({ page }) => {
  const ns = await configuration(page);
  await change(page, 'mode', 'safe');
  await page.goto(`/audit?namespace=${ns}`);
  await page.locator('tr[data-action="field.set"]').first().getByRole('link', { name: 'Diff' }).click();
  await expect(page.locator('#diff td.after')).toHaveText('"safe"');
  await page.locator('#take-back-link').click();
  await page.locator('#take-back').getByRole('button', { name: 'Take back this change' }).click();
  await expect(page.locator('#saved-summary')).toHaveText('mode: "safe" → "fast"');
  expect(await fields(page, ns)).toEqual({ limit: 1, mode: 'fast' });
});

test('every control in the form view names the field it is for', async ({ page }) => {
  await configuration(page);
  const rows = page.locator('#fields tbody tr.field');
  await expect(rows).toHaveCount(2);
  let checked = 0;
  for (const field of ['limit', 'mode']) {
    const controls = page
      .locator('#fields tbody tr.field', { has: page.locator('th', { hasText: new RegExp(`^${field}$`) }) })
      .locator('input:not([type=hidden]), select, textarea, button');
    const count = await controls.count();
    expect(count).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < count; i++) {
      await expect(controls.nth(i)).toHaveAccessibleName(new RegExp(`\\b${field}\\b`));
      checked++;
    }
  }
  expect(checked).toBeGreaterThanOrEqual(8);
  await expect(page.getByRole('button', { name: 'Remove limit' })).toHaveClass(/danger/);
});

test('a 200,000-character value is reviewed and saved; a short change stays in the address', async ({ page }) => {
  const ns = await configuration(page);
  const row = (field: string) => page.locator('#fields tbody tr.field', { hasText: field });
  await row('limit').getByLabel(/^Value of /).fill('7');
  await row('limit').getByRole('button', { name: 'Review change' }).click();
  await expect(page.locator('#review')).toContainText('7');
  expect(page.url()).toContain('value=7');
  await page.goto(`/ns/${ns}/web`);

  const long = 'x'.repeat(200_000);
  await row('mode').getByLabel(/^Value of /).fill(long);
  await row('mode').getByRole('button', { name: 'Review change' }).click();
  await expect(page).toHaveURL(/\?draft=[0-9a-f]+$/);
  await expect(page.locator('#review tbody th')).toHaveText('mode');
  // A live update or a reload shows the same review: it is kept, not in the address.
  await page.reload();
  await page.locator('#review').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#saved-summary')).toContainText('mode: "fast" → "xxx');
  const stored = (await fields(page, ns)) as { mode: string; limit: number };
  expect(stored.mode.length).toBe(200_000);
  expect(stored.limit).toBe(1);
});

test('the JSON view and live updates are offered only where JavaScript runs; history compares the last change', async ({ page, javaScriptEnabled }) => {
  const ns = await configuration(page);
  await page.goto(`/ns/${ns}/web`);
  if (javaScriptEnabled) {
    await expect(page.locator('#json-view')).toBeVisible();
    await expect(page.locator('#live-status')).toHaveText('Live updates: on');
  } else {
    await expect(page.locator('#json-view')).toBeHidden();
    await expect(page.locator('#live-status')).toHaveText('');
  }
  await page.goto(`/ns/${ns}/web/history`);
  const seqs = await page.locator('#versions tbody tr td:first-child').allInnerTexts();
  expect(seqs.length).toBe(3);
  const [newest, before] = seqs.map((s) => s.replace('#', ''));
  await expect(page.locator('#compare select[name=from]')).toHaveValue(before);
  await expect(page.locator('#compare select[name=to]')).toHaveValue(newest);
  // Times read as how long ago, with the exact time on hover.
  const when = page.locator('#versions tbody tr').first().locator('td').nth(1).locator('span');
  await expect(when).toHaveText(/^(just now|\d+ minutes? ago)$/);
  await expect(when).toHaveAttribute('title', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
});
