import { expect, test, type Page } from './fixtures';
import { execFileSync } from 'node:child_process';
import { etcdEndpoints, etcdGet, uniqueName } from './support';
import { addField, openEdit, reviewValue, shownValue } from './fields';

/** A schema with the constructs the form view turns into inputs, and one it cannot. */
const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['retries', 'mode'],
  properties: {
    mode: {
      title: 'Checkout mode',
      oneOf: [
        { const: 'fast', title: 'Fast (skip the fraud check)' },
        { const: 'safe', title: 'Safe' },
      ],
    },
    retries: {
      title: 'Retry limit',
      description: 'How often a failed payment is tried again.',
      type: 'integer',
      minimum: 0,
      maximum: 10,
      default: 3,
      examples: [5],
    },
    code: {
      title: 'Shop code',
      type: 'string',
      pattern: '^[A-Z]{3}$',
      'x-confo-message': 'Shop code is three capital letters, like ABC.',
    },
    contact: { title: 'Contact', type: 'string', format: 'email', maxLength: 80 },
    legacy: { type: 'boolean', deprecated: true },
    id: { type: 'string', readOnly: true },
    either: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
    token: { title: 'API token', type: 'string', writeOnly: true },
  },
};

const SECRET = 'sekret-value-42';

async function newNamespace(page: Page): Promise<string> {
  const ns = uniqueName('schema');
  await page.goto('/');
  await page.getByLabel('Name', { exact: true }).fill(ns);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.locator('#namespace-list li', { hasText: ns })).toBeVisible();
  return ns;
}

/** Creates configuration `name` holding `fields` (added one by one in the form view). */
async function newConfiguration(page: Page, ns: string, name: string, fields: [string, string, string][]) {
  await page.goto(`/ns/${ns}`);
  const form = page.locator('#create-configuration');
  await form.getByLabel('Name').fill(name);
  await form.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/${name}$`));
  for (const [field, kind, value] of fields) {
    await addField(page, field, kind, value);
  }
}

/** Gives a configuration its own schema: written, checked in a dry run, then saved. */
async function giveSchema(page: Page, ns: string, name: string, schema: object) {
  await page.goto(`/ns/${ns}/${name}/schema`);
  await page.locator('#schema-json').fill(JSON.stringify(schema, null, 2));
  await page.locator('#schema-own').getByRole('button', { name: 'Check against the current value' }).click();
  await expect(page.locator('#dry-run')).toBeVisible();
  await page.locator('#schema-save').getByRole('button', { name: 'Save this schema' }).click();
  await expect(page.locator('#schema-mode')).toHaveText('It follows its own schema.');
}

function stored(key: string): unknown {
  return JSON.parse(etcdGet(key));
}

test('the form view is built from the schema, and a change that breaks it is refused in plain words', async ({ page, javaScriptEnabled }) => {
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'checkout', [
    ['retries', 'number', '3'],
    ['mode', 'text', 'fast'],
    ['note', 'text', 'kept as it is'],
    ['token', 'text', SECRET],
  ]);
  // A schema that is not valid JSON Schema is refused, with where it is wrong.
  await page.goto(`/ns/${ns}/checkout/schema`);
  await page.locator('#schema-json').fill('{"type": "object", "properties": {"retries": {"minimum": "zero"}}}');
  await page.locator('#schema-own').getByRole('button', { name: 'Check against the current value' }).click();
  await expect(page.locator('#dry-run')).toContainText('/properties/retries/minimum');
  await expect(page.locator('#schema-save')).toHaveCount(0);
  await giveSchema(page, ns, 'checkout', SCHEMA);

  await page.goto(`/ns/${ns}/checkout`);
  await expect(page.locator('#schema-status')).toContainText('Checked against its own schema.');
  // Rows in the schema's order, with titles, help, examples, default and markers.
  const rows = page.locator('#fields tbody tr.field');
  await expect(rows.locator('.field-title')).toHaveText(['Checkout mode', 'Retry limit', 'API token', 'note']);
  // A write-only value is never shown: not in the form, not in the JSON view, not in history.
  expect(await page.content()).not.toContain(SECRET);
  await expect(shownValue(rows.nth(2))).toHaveText('hidden (write-only)');
  const token = (await openEdit(page, 'token')).getByLabel(/^Value of /);
  await expect(token).toHaveAttribute('type', 'password');
  await expect(token).toBeFocused();
  await expect(token).toHaveValue('');
  // Renaming it would show it under the new name: refused.
  await page.goto(`/ns/${ns}/checkout?op=rename&field=token&to=visible`);
  await expect(page.locator('#editing [role=alert]')).toContainText('cannot be renamed');
  expect(await page.content()).not.toContain(SECRET);
  // Replacing it: typed, and sent by POST (never in an address), with no review to show it.
  await page.goto(`/ns/${ns}/checkout?edit=token`);
  const replace = page.locator('#editing form.write-only');
  await expect(replace).toHaveAttribute('method', 'post');
  await replace.getByLabel(/^Value of /).fill(`${SECRET}-new`);
  await replace.getByRole('button', { name: 'Replace' }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/checkout\\?saved=\\d+$`));
  // The confirmation names the change without showing the value.
  await expect(page.locator('#saved-summary')).toContainText('token');
  await expect(shownValue(page.locator('#fields tbody tr.field').nth(2))).toHaveText('hidden (write-only)');
  expect(await page.content()).not.toContain(SECRET);
  if (etcdEndpoints) {
    expect((stored(`${ns}-checkout`) as Record<string, unknown>).token).toBe(`${SECRET}-new`);
  }
  await page.goto(`/ns/${ns}/checkout/history`);
  const views = await page.locator('a[href*="/history?"]').evaluateAll((links) => links.map((a) => a.getAttribute('href')!));
  expect(views.length).toBeGreaterThan(3);
  for (const view of views) {
    await page.goto(view);
    await expect(page.locator('h1')).toBeVisible();
    expect(await page.content(), view).not.toContain(SECRET);
  }
  // Nor in the audit export, whose entries carry the patches.
  const exported = await page.request.get(`/api/audit/export?filter%5Bnamespace%5D=${ns}&format=jsonl`);
  expect(exported.status()).toBe(200);
  const text = await exported.text();
  expect(text).toContain('"op":"add","path":"/token","value":"•••••• (write-only)"');
  expect(text).not.toContain(SECRET);
  // The CSV export's before and after columns mask it too; the page's list carries no values.
  const csv = await (await page.request.get(`/api/audit/export?filter%5Bnamespace%5D=${ns}&format=csv`)).text();
  expect(csv).toContain('/token=""•••••• (write-only)""');
  expect(csv).not.toContain(SECRET);
  const listed = await page.request.get(`/api/audit/list?filter%5Bnamespace%5D=${ns}`);
  expect(listed.status()).toBe(200);
  expect(await listed.text()).toContain('"namespace"');
  expect(await listed.text()).not.toContain(SECRET);
  await page.goto(`/ns/${ns}/checkout`);
  const retries = rows.nth(1);
  await expect(retries).toContainText('How often a failed payment is tried again.');
  await expect(retries).toContainText('For example 5. Default 3.');
  await expect(retries.locator('.badge.required')).toHaveText('required');
  // The constraints are the input's own attributes: the browser checks them too.
  const input = (await openEdit(page, 'retries')).getByLabel(/^Value of /);
  await expect(input).toBeFocused();
  await expect(input).toHaveAttribute('type', 'number');
  await expect(input).toHaveAttribute('min', '0');
  await expect(input).toHaveAttribute('max', '10');
  await expect(input).toHaveAttribute('step', '1');
  await expect(input).toHaveAttribute('required', '');
  // A choice with readable labels, the stored value chosen.
  await expect(shownValue(rows.nth(0))).toHaveText('fast');
  const mode = (await openEdit(page, 'mode')).getByLabel(/^Value of /);
  await expect(mode.locator('option')).toHaveText(['Fast (skip the fraud check)', 'Safe']);
  await expect(mode).toHaveValue('fast');
  // Settings the schema lists that are not set yet, each with its own input.
  const missing = page.locator('#fields-missing tbody tr');
  await expect(missing.locator('.field-title')).toHaveText(['Shop code', 'Contact', 'legacy', 'either']);
  const code = missing.nth(0).getByLabel('Value of code', { exact: true });
  await expect(code).toHaveAttribute('pattern', '^[A-Z]{3}$');
  const contact = missing.nth(1).getByLabel('Value of contact', { exact: true });
  await expect(contact).toHaveAttribute('type', 'email');
  await expect(contact).toHaveAttribute('maxlength', '80');
  await expect(missing.nth(2).locator('.badge.deprecated')).toBeVisible();
  await expect(missing.nth(3)).toContainText('Edited as JSON');
  await expect(missing.nth(3).locator('textarea')).toHaveCount(1);

  // Out of range: the review says so in plain words and offers no save; nothing is written.
  const before = etcdEndpoints ? stored(`${ns}-checkout`) : null;
  await page.goto(`/ns/${ns}/checkout?op=set&field=retries&kind=number&value=-3`);
  await expect(page.locator('#review-problems')).toContainText('retries: Retry limit must be between 0 and 10.');
  await expect(page.locator('#review-save')).toHaveCount(0);
  await page.goto(`/ns/${ns}/checkout?op=set&field=code&kind=text&value=ab`);
  await expect(page.locator('#review-problems')).toContainText('Shop code is three capital letters, like ABC.');

  // A valid change: told in plain words with the schema's title, then saved.
  await page.goto(`/ns/${ns}/checkout`);
  await reviewValue(page, 'retries', '5');
  await expect(page.locator('#review-summary')).toHaveText(`You are changing 1 setting in ${ns} › checkout: Retry limit from 3 to 5.`);
  if (javaScriptEnabled) {
    // The save itself is checked again on the server: a value changed after the review is
    // refused there, with the same words.
    await page.locator('#review-save input[name="edit[value]"]').evaluate((el: HTMLInputElement) => { el.value = '11'; });
    await page.locator('#review-save').getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'Not saved: Retry limit must be between 0 and 10.' })).toBeVisible();
    if (etcdEndpoints) {
      expect(stored(`${ns}-checkout`)).toEqual(before);
    }
    await page.goto(`/ns/${ns}/checkout?op=set&field=retries&kind=number&value=5`);
  }
  await page.locator('#review-save').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#review')).toHaveCount(0);
  await expect(shownValue(page.locator('#fields tbody tr.field').nth(1))).toHaveText('5');
  if (etcdEndpoints) {
    expect(stored(`${ns}-checkout`)).toEqual({ retries: 5, mode: 'fast', note: 'kept as it is', token: `${SECRET}-new` });
  }
});

test('a value another tool wrote against the schema is shown with its problems, and the rest stays editable', async ({ page, javaScriptEnabled }) => {
  test.skip(!etcdEndpoints, 'writes with etcdctl');
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'svc', [['retries', 'number', '1'], ['mode', 'text', 'fast']]);
  await giveSchema(page, ns, 'svc', SCHEMA);
  execFileSync('etcdctl', ['--endpoints', etcdEndpoints, 'put', `${ns}-svc`, `{"retries": 99, "mode": "fast", "host": "a", "token": "${SECRET}"}`], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  await page.goto(`/ns/${ns}/svc`);
  await expect(page.locator('#stored-problems')).toContainText('retries: Retry limit must be between 0 and 10.');
  await expect(page.locator('#fields tbody tr.field.has-problem .field-problem')).toHaveText('Retry limit must be between 0 and 10.');
  // An unrelated field can still be changed; the problem stays, untouched.
  await reviewValue(page, 'mode', 'safe');
  await expect(page.locator('#review-problems')).toHaveCount(0);
  await page.locator('#review-save').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#review')).toHaveCount(0);
  expect(etcdGet(`${ns}-svc`)).toBe(`{"retries":99,"mode":"safe","host":"a","token":"${SECRET}"}`);
  if (javaScriptEnabled) {
    // A whole-value save from the JSON view that keeps the problem and adds none is accepted.
    const editor = page.getByLabel('The configuration as JSON');
    const fields = JSON.parse(await editor.inputValue());
    fields.host = 'b';
    await editor.fill(JSON.stringify(fields, null, 2));
    await page.locator('#json-review').click();
    await expect(page.locator('#json-review-panel .summary')).toHaveText(`You are changing 1 setting in ${ns} › svc: host from "a" to "b".`);
    // The write-only token shows masked, and saving the JSON with the mask keeps it as stored.
    expect(fields.token).toBe('•••••• (write-only)');
    await page.locator('#json-save').click();
    await expect(page.locator('#json-saved')).toBeVisible();
    expect(etcdGet(`${ns}-svc`)).toBe(`{"retries":99,"mode":"safe","host":"b","token":"${SECRET}"}`);
    // One that adds a problem is refused before it is sent.
    fields.mode = 'turbo';
    await editor.fill(JSON.stringify(fields, null, 2));
    await page.locator('#json-review').click();
    await expect(page.locator('#json-problems')).toContainText('mode: Checkout mode must be one of: Fast (skip the fraud check), Safe.');
    await expect(page.locator('#json-save')).toBeDisabled();
  }
});

test('a shared schema is checked against every configuration that follows it, and cannot be deleted while in use', async ({ page }) => {
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'a', [['retries', 'number', '1']]);
  await newConfiguration(page, ns, 'b', [['retries', 'number', '7']]);
  const limits = (maximum: number) => JSON.stringify({ type: 'object', properties: { retries: { title: 'Retry limit', type: 'integer', maximum } } });
  const putShared = async (json: string) => {
    await page.goto(`/ns/${ns}/settings`);
    const form = page.locator('#shared-form');
    await form.getByLabel('Name').fill('limits');
    await form.getByLabel('JSON Schema (draft 2020-12)').fill(json);
    await form.getByRole('button', { name: 'Check against the configurations that follow it' }).click();
    await expect(page.locator('#dry-run')).toBeVisible();
  };
  await putShared(limits(10));
  await page.locator('#shared-save').getByRole('button', { name: 'Save the shared schema “limits”' }).click();
  await expect(page.locator('#shared-schemas li[data-schema="limits"]')).toContainText('Not followed by any configuration.');
  for (const name of ['a', 'b']) {
    await page.goto(`/ns/${ns}/${name}/schema`);
    await page.locator('#schema-shared').getByRole('button', { name: 'Check against the current value' }).click();
    await expect(page.locator(`#dry-run li[data-configuration="${name}"]`)).toContainText('still matches');
    await page.locator('#schema-save').getByRole('button', { name: 'Follow “limits”' }).click();
    await expect(page.locator('#schema-mode')).toHaveText('It follows the shared schema “limits” of this namespace.');
  }
  // A stricter version, tried first: exactly the configuration it would break is named.
  await putShared(limits(5));
  await expect(page.locator('#dry-run li[data-configuration]')).toHaveCount(2);
  await expect(page.locator('#dry-run li[data-configuration="a"]')).toContainText('still matches');
  await expect(page.locator('#dry-run li[data-configuration="b"]')).toContainText('Retry limit must be at most 5.');
  // In use, it cannot be deleted; nothing changes.
  await page.goto(`/ns/${ns}/settings`);
  await page.locator('#shared-schemas li[data-schema="limits"]').getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'is followed by a, b' })).toBeVisible();
  await page.goto(`/ns/${ns}/settings`);
  await expect(page.locator('#shared-schemas li[data-schema="limits"]')).toContainText('Followed by a, b.');
  // Every settings change is in their history, with what it changed.
  const history = page.locator('#settings-history tbody tr');
  await expect(history).toHaveCount(3);
  await expect(history.nth(2)).toContainText('schema.put');
  await expect(history.nth(2)).toContainText('add /schemas: {"limits":{"type":"object"');
  await expect(history.nth(1)).toContainText('schema.assign (a)');
  await expect(history.nth(0)).toContainText('add /assignments/b: {"named":"limits"}');
});

test('a namespace can require a comment with every change', async ({ page, javaScriptEnabled }) => {
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'c', [['a', 'number', '1']]);
  await page.goto(`/ns/${ns}/settings`);
  await page.locator('#require-comment').getByLabel('A comment is required for every change').check();
  await page.locator('#require-comment').getByRole('button', { name: 'Save the rule' }).click();
  await expect(page.locator('#comment-rule')).toHaveText('Every change in this namespace needs a comment.');
  await page.goto(`/ns/${ns}/c?op=set&field=a&kind=number&value=2`);
  const comment = page.locator('#review-save').getByLabel('Comment for the history (required in this namespace)');
  await expect(comment).toHaveAttribute('required', '');
  if (javaScriptEnabled) {
    // Checked on the server too, whatever the browser does.
    await comment.evaluate((el: HTMLInputElement) => { el.required = false; });
    await page.locator('#review-save').getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'This namespace asks for a comment with every change' })).toBeVisible();
    await page.goto(`/ns/${ns}/c?op=set&field=a&kind=number&value=2`);
  }
  await page.locator('#review-save').getByLabel('Comment for the history (required in this namespace)').fill('price test');
  await page.locator('#review-save').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#review')).toHaveCount(0);
  await page.goto(`/ns/${ns}/c/history`);
  await expect(page.locator('body')).toContainText('price test');
});
