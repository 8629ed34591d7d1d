import { expect, test, type Page } from './fixtures';
import { uniqueName } from './support';
import { changeValue, openEdit, reviewNewField, reviewValue } from './fields';

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
    await reviewNewField(page, field, kind, value);
    await page.locator('#review').getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('#saved-summary')).toHaveText(`${field}: added, ${kind === 'text' ? `"${value}"` : value}`);
  }
  return ns;
}

/** Sets `field` to `value` through its row: review, then save. */
const change = (page: Page, field: string, value: string) => changeValue(page, field, value);

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
  // Right below the changed row, not at the top of the page.
  await expect(page.locator('#fields tr.just-changed + tr.saved-row #saved')).toBeVisible();
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
  const ns = await configuration(page);
  const rows = page.locator('#fields tbody tr.field');
  await expect(rows).toHaveCount(2);
  let checked = 0;
  for (const field of ['limit', 'mode']) {
    await page.goto(`/ns/${ns}/web`);
    // Read-only rows: one Edit each, named for its field.
    await expect(page.locator('#fields tbody tr.field a, #fields tbody tr.field button, #fields tbody tr.field input')).toHaveCount(2);
    const panel = await openEdit(page, field);
    await panel.locator('details.field-menu summary').click();
    const controls = panel.locator('input:not([type=hidden]), select, textarea, button, summary');
    const count = await controls.count();
    expect(count).toBeGreaterThanOrEqual(8);
    for (let i = 0; i < count; i++) {
      await expect(controls.nth(i)).toHaveAccessibleName(new RegExp(`\\b${field}\\b`));
      checked++;
    }
    await expect(panel.getByRole('button', { name: `Remove ${field}` })).toHaveClass(/danger/);
  }
  expect(checked).toBeGreaterThanOrEqual(16);
});

test('the fifth field is edited and saved with the keyboard alone in at most 10 presses from the top', async ({ page }) => {
  const ns = await configuration(page);
  for (const [field, value] of [['third', 'c'], ['fourth', 'd'], ['fifth', 'e']]) {
    await reviewNewField(page, field, 'text', value);
    await page.locator('#review').getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('#saved-summary')).toContainText(field);
  }
  await page.goto(`/ns/${ns}/web`);
  await expect(page.locator('#fields tbody tr.field')).toHaveCount(5);
  let presses = 0;
  const press = async (key: string) => {
    presses++;
    await page.keyboard.press(key);
  };
  // Tab to "Skip to the fields", past them to the fifth row's Edit.
  await press('Tab');
  await expect(page.locator(':focus')).toHaveText('Skip to the fields');
  await press('Enter');
  for (let i = 0; i < 5; i++) {
    await press('Tab');
  }
  await expect(page.locator(':focus')).toHaveAccessibleName('Edit fifth');
  await press('Enter');
  // The value has the focus: type, Enter reviews; the comment has the focus: Enter saves.
  await expect(page.getByLabel('Value of fifth', { exact: true })).toBeFocused();
  // (Typing is not counted; the caret starts before what is there.)
  await page.keyboard.type('E');
  await press('Enter');
  await expect(page.locator('#review td.after')).toHaveText('"Ee"');
  await expect(page.locator('#review').getByLabel(/^Comment for the history/)).toBeFocused();
  await press('Enter');
  await expect(page.locator('#saved-summary')).toHaveText('fifth: "e" → "Ee"');
  expect(presses).toBeLessThanOrEqual(10);
  expect(((await fields(page, ns)) as Record<string, unknown>).fifth).toBe('Ee');
});

test('on a phone the table of fields and an open field fit the width', async ({ page }) => {
  const ns = await configuration(page);
  await reviewNewField(page, 'a_rather_long_field_name_for_a_phone', 'text', 'a value long enough to wrap on a narrow screen, and then some more');
  await page.locator('#review').getByRole('button', { name: 'Save' }).click();
  await page.setViewportSize({ width: 360, height: 740 });
  const sideways = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.goto(`/ns/${ns}/web`);
  await expect(page.locator('#fields')).toBeVisible();
  expect(await sideways()).toBeLessThanOrEqual(0);
  // Every row's Edit is on screen, not cut off.
  for (const edit of await page.getByRole('link', { name: /^Edit / }).all()) {
    const box = (await edit.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(360);
  }
  await openEdit(page, 'mode');
  await page.locator('#editing details.field-menu summary').click();
  expect(await sideways()).toBeLessThanOrEqual(0);
});

test('true/false is a switch, and a number other programs would round is said so before saving', async ({ page }) => {
  const ns = await configuration(page);
  const panel = await (async () => {
    const form = page.locator('#add-field');
    await form.getByLabel('Field name').fill('enabled');
    await form.getByLabel('Type of value').selectOption('true/false');
    await form.getByRole('button', { name: 'Next: its value' }).click();
    return page.locator('#new-field');
  })();
  await expect(panel.getByRole('switch', { name: 'Value of enabled' })).not.toBeChecked();
  await expect(panel.locator('input[type=text], textarea')).toHaveCount(0);
  // Off is false.
  await panel.getByRole('button', { name: 'Review new field' }).click();
  await expect(page.locator('#review td.after')).toHaveText('false');
  await page.locator('#review').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#saved-summary')).toHaveText('enabled: added, false');
  expect(((await fields(page, ns)) as Record<string, unknown>).enabled).toBe(false);
  await changeValue(page, 'enabled', 'true');
  expect(((await fields(page, ns)) as Record<string, unknown>).enabled).toBe(true);
  // Turned off again: the browser sends no value, which is false.
  await changeValue(page, 'enabled', 'false');
  expect(((await fields(page, ns)) as Record<string, unknown>).enabled).toBe(false);

  const nines = '9'.repeat(26);
  await reviewValue(page, 'limit', nines);
  await expect(page.locator('#review .review-note')).toContainText('will read it as 1e26');
  await page.locator('#review').getByRole('button', { name: 'Save' }).click();
  const api = await page.request.get(`/api/configurations/get?namespace=${ns}&name=web`);
  expect((await api.json()).json).toContain(`"limit": ${nines}`);
});

test('a 200,000-character value is reviewed and saved; a short change stays in the address', async ({ page }) => {
  const ns = await configuration(page);
  await reviewValue(page, 'limit', '7');
  await expect(page.locator('#review')).toContainText('7');
  expect(page.url()).toContain('value=7');
  await page.goto(`/ns/${ns}/web`);

  const long = 'x'.repeat(200_000);
  await reviewValue(page, 'mode', long);
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
  if (!javaScriptEnabled) {
    await expect(when).toHaveAttribute('title', /^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
  }
});

test.describe('in Tokyo', () => {
  test.use({ timezoneId: 'Asia/Tokyo', locale: 'en-GB' });

  test('exact times are in the person\'s time zone where JavaScript runs', async ({ page, javaScriptEnabled }) => {
    test.skip(!javaScriptEnabled, 'only the browser knows its time zone');
    const ns = await configuration(page);
    await page.goto(`/ns/${ns}/web/history`);
    const when = page.locator('#versions tbody tr').first().locator('td').nth(1).locator('span');
    const utc = new Date();
    const hour = (utc.getUTCHours() + 9) % 24;
    // Within the minute of the save, give or take the hour's turn.
    await expect(when).toHaveAttribute('title', new RegExp(`(GMT\\+9|JST)`));
    expect(await when.getAttribute('title')).not.toContain('UTC');
    expect(await when.getAttribute('title')).toMatch(new RegExp(`\\b(${String(hour).padStart(2, '0')}|${String((hour + 23) % 24).padStart(2, '0')}):\\d{2}`));
  });
});
