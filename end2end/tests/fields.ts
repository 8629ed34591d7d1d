// The form view's table of fields as a person uses it: each row's Edit opens that one field (or
// item) with its menu; adding a field takes its name and type, then a value in a control that
// suits the type.
import { expect, type Locator, type Page } from './fixtures';

/** The row of field `field` (its name cell reads exactly `field`). */
export function fieldRow(page: Page, field: string): Locator {
  return page.locator('#fields tbody tr.field', {
    has: page.locator('th .field-title', { hasText: new RegExp(`^${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }),
  });
}

/** The value a row shows. */
export function shownValue(row: Locator): Locator {
  return row.locator('td.value-cell .value, td.value-cell .hint').first();
}

/** Opens `place` (a field, or `field › key`) for editing through its row's Edit; answers the panel. */
export async function openEdit(page: Page, place: string): Promise<Locator> {
  await page.getByRole('link', { name: `Edit ${place}`, exact: true }).click();
  const panel = page.locator('#editing');
  await expect(panel).toBeVisible();
  return panel;
}

/** Types `value` as the new value of `place` and opens the review (in place). */
export async function reviewValue(page: Page, place: string, value: string): Promise<Locator> {
  const panel = await openEdit(page, place);
  const input = panel.getByLabel(`Value of ${place}`, { exact: true });
  if ((await input.getAttribute('role')) === 'switch') {
    await input.setChecked(value === 'true');
  } else if ((await input.evaluate((e) => e.tagName)) === 'SELECT') {
    await input.selectOption(value);
  } else {
    await input.fill(value);
  }
  await panel.getByRole('button', { name: `Review change to ${place}` }).click();
  const review = page.locator('#review');
  await expect(review).toBeVisible();
  return review;
}

/** Changes the value of `place` and saves it (with `comment`, when given). */
export async function changeValue(page: Page, place: string, value: string, comment?: string) {
  const review = await reviewValue(page, place, value);
  if (comment !== undefined) {
    await review.getByLabel(/^Comment for the history/).fill(comment);
  }
  await review.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#review')).toHaveCount(0);
}

/** Adding a field, first step: its name and type; answers the second step's panel. */
export async function startNewField(page: Page, field: string, kind: string): Promise<Locator> {
  const form = page.locator('#add-field');
  await form.getByLabel('Field name').fill(field);
  await form.getByLabel('Type of value').selectOption(kind);
  await form.getByRole('button', { name: 'Next: its value' }).click();
  const panel = page.locator('#new-field');
  await expect(panel).toBeVisible();
  return panel;
}

/** Adds field `field` of `kind` with `value` (for true/false: 'true' or 'false'), up to its review. */
export async function reviewNewField(page: Page, field: string, kind: string, value: string): Promise<Locator> {
  const panel = await startNewField(page, field, kind);
  if (kind === 'true/false') {
    await panel.getByRole('switch', { name: `Value of ${field}` }).setChecked(value === 'true');
  } else if (kind !== 'empty') {
    await panel.getByLabel(new RegExp(`^Value of ${field}`)).fill(value);
  }
  await panel.getByRole('button', { name: 'Review new field' }).click();
  const review = page.locator('#review');
  await expect(review).toBeVisible();
  return review;
}

/** Adds field `field` of `kind` with `value`: review, then save. */
export async function addField(page: Page, field: string, kind: string, value: string, comment?: string) {
  const review = await reviewNewField(page, field, kind, value);
  await expect(review.locator('tbody th')).toHaveText(field);
  await expect(review.locator('td.before')).toHaveText('(not there)');
  if (comment !== undefined) {
    await review.getByLabel(/^Comment for the history/).fill(comment);
  }
  await review.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#review')).toHaveCount(0);
  await expect(fieldRow(page, field)).toHaveCount(1);
}
