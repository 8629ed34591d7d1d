import { expect, test, type Browser, type Page, type TestInfo } from './fixtures';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { PASSWORD, etcdEndpoints, etcdGet, uniqueName } from './support';
import { addField, changeValue, fieldRow, openEdit, reviewNewField, reviewValue, shownValue } from './fields';

/** Creates a namespace through the home page and opens it. */
async function newNamespace(page: Page): Promise<string> {
  const ns = uniqueName('cfgns');
  await page.goto('/');
  await page.getByLabel('Name', { exact: true }).fill(ns);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.locator('#namespace-list li', { hasText: ns })).toBeVisible();
  await page.goto(`/ns/${ns}`);
  await expect(page.locator('#configuration-empty')).toBeVisible();
  return ns;
}

/** Creates configuration `name` from the namespace page; the editor opens. */
async function newConfiguration(page: Page, ns: string, name: string) {
  await page.goto(`/ns/${ns}`);
  const form = page.locator('#create-configuration');
  await form.getByLabel('Name').fill(name);
  await form.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/${name}$`));
  await expect(page.locator('#fields-empty')).toBeVisible();
}

function stored(key: string): unknown {
  return JSON.parse(etcdGet(key));
}

test('fields of every type through the form view, stored exactly as intended', async ({ page }) => {
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'app');
  await addField(page, 'host', 'text', 'db.local');
  await addField(page, 'port', 'number', '5432');
  // Typing digits into a text field keeps it text.
  await addField(page, 'zip', 'text', '05');
  await addField(page, 'debug', 'true/false', 'true');
  await addField(page, 'note', 'empty', '');
  await addField(page, 'tags', 'list', '["a", "b"]');
  await addField(page, 'limits', 'object', '{"cpu": 2}');

  // true/false is a switch (turned on here).
  await expect(shownValue(fieldRow(page, 'debug'))).toHaveText('true');

  // A value that is not what its type says is refused in place, with the reason and what was
  // typed, and nothing is written.
  const panel = page.locator('#new-field');
  await page.locator('#add-field').getByLabel('Field name').fill('bad');
  await page.locator('#add-field').getByLabel('Type of value').selectOption('number');
  await page.locator('#add-field').getByRole('button', { name: 'Next: its value' }).click();
  await panel.getByLabel('Value of bad').fill('five');
  await panel.getByRole('button', { name: 'Review new field' }).click();
  await expect(panel.getByRole('alert')).toContainText('not a number');
  await expect(panel.getByLabel('Value of bad')).toHaveValue('five');
  await expect(panel.getByLabel('Value of bad')).toBeFocused();
  await expect(fieldRow(page, 'bad')).toHaveCount(0);

  // Change a field's value in its row: review shows old and new, in place.
  await page.goto(`/ns/${ns}/app`);
  await reviewValue(page, 'port', '6543');
  await expect(page.locator('#fields tr.editing #review')).toBeVisible();
  await expect(page.locator('#review td.before')).toHaveText('5432');
  await expect(page.locator('#review td.after')).toHaveText('6543');
  await page.locator('#review').getByLabel('Comment for the history (optional)').fill('new port');
  await page.locator('#review').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#review')).toHaveCount(0);

  const expected = {
    host: 'db.local',
    port: 6543,
    zip: '05',
    debug: true,
    note: null,
    tags: ['a', 'b'],
    limits: { cpu: 2 },
  };
  if (etcdEndpoints) {
    expect(stored(`${ns}-app`)).toEqual(expected);
    expect(stored(ns)).toEqual({ configurations: ['app'] });
  }
  const api = await page.request.get(`/api/configurations/get?namespace=${ns}&name=app`);
  expect(JSON.parse((await api.json()).json)).toEqual(expected);

  // Rename and remove live in the field's menu, each reviewed; removing looks dangerous.
  const zip = await openEdit(page, 'zip');
  await zip.getByText('More for zip').click();
  await zip.getByLabel('New name for zip').fill('postcode');
  await zip.getByRole('button', { name: 'Rename zip' }).click();
  await page.locator('#review').getByRole('button', { name: 'Rename the field' }).click();
  await expect(fieldRow(page, 'postcode')).toHaveCount(1);
  const note = await openEdit(page, 'note');
  await note.getByText('More for note').click();
  await expect(note.getByRole('button', { name: 'Remove note' })).toHaveClass(/danger/);
  await note.getByRole('button', { name: 'Remove note' }).click();
  await expect(page.locator('#review td.after')).toHaveText('(removed)');
  await expect(page.locator('#review').getByRole('button', { name: 'Remove the field' })).toHaveClass(/danger/);
  await page.locator('#review').getByRole('button', { name: 'Remove the field' }).click();
  await expect(page.locator('#fields tbody th', { hasText: 'note' })).toHaveCount(0);
  if (etcdEndpoints) {
    const after = stored(`${ns}-app`) as Record<string, unknown>;
    expect(Object.keys(after).sort()).toEqual(['debug', 'host', 'limits', 'port', 'postcode', 'tags']);
    expect(after.postcode).toBe('05');
  }
});

test('the JSON view checks as you type, reviews, and saves', async ({ page, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled, 'the JSON view needs JavaScript');
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'svc');
  await addField(page, 'a', 'number', '1');
  const editor = page.getByLabel('The configuration as JSON');
  await editor.fill('{\n  "a": 1\n  "b": true\n}');
  await expect(page.locator('#json-problem')).toHaveText('Line 3, column 3: a comma is missing between two entries, or a } is missing');
  await expect(page.locator('#json-problem')).toHaveAttribute('title', 'expected `,` or `}`');
  await expect(page.locator('#json-review')).toBeDisabled();
  // And looks it.
  expect(Number(await page.locator('#json-review').evaluate((e) => getComputedStyle(e).opacity))).toBeLessThan(0.6);
  await editor.fill('{\n  "a": 2,\n  "b": true\n}');
  await expect(page.locator('#json-problem')).toHaveCount(0);
  await page.locator('#json-review').click();
  const review = page.locator('#json-review-panel');
  await expect(review.locator('tbody tr')).toHaveCount(2);
  await expect(review.locator('tbody tr', { hasText: 'a' }).locator('td.after')).toHaveText('2');
  await review.locator('#json-save').click();
  await expect(page.locator('#json-saved')).toBeVisible();
  if (etcdEndpoints) {
    expect(stored(`${ns}-svc`)).toEqual({ a: 2, b: true });
  }

  // Ctrl/Cmd+S: the first press opens the review, the second saves.
  await editor.fill('{\n  "a": 5,\n  "b": true\n}');
  await expect(page.locator('#json-saved')).toHaveCount(0);
  await editor.press('ControlOrMeta+s');
  await expect(review.locator('tbody tr', { hasText: 'a' }).locator('td.after')).toHaveText('5');
  await page.keyboard.press('ControlOrMeta+s');
  await expect(page.locator('#json-saved')).toBeVisible();
  if (etcdEndpoints) {
    expect(stored(`${ns}-svc`)).toEqual({ a: 5, b: true });
  }

  // Line numbers stay beside their lines: a long line scrolls sideways instead of wrapping, and
  // both columns share the same top, line height and padding, also zoomed in.
  const long = JSON.stringify({ a: 5, b: true, note: 'x'.repeat(3000) }, null, 2);
  await editor.fill(long);
  const gutter = page.locator('.json-editor .gutter');
  await expect(gutter).toHaveText(long.split('\n').map((_, i) => String(i + 1)).join('\n'));
  for (const zoom of ['1', '1.75']) {
    await page.evaluate((z) => { document.body.style.setProperty('zoom', z); }, zoom);
    const metrics = async (element: typeof gutter) => element.evaluate((e) => {
      const style = getComputedStyle(e);
      return { top: Math.round(e.getBoundingClientRect().top), line: style.lineHeight, pad: style.paddingTop, font: style.fontSize };
    });
    expect(await metrics(editor), `zoom ${zoom}`).toEqual(await metrics(gutter));
    expect(await editor.evaluate((e) => e.scrollWidth > e.clientWidth)).toBe(true);
  }
  await page.evaluate(() => { document.body.style.removeProperty('zoom'); });

  // Leaving with edits not saved asks first.
  await editor.fill('{"a": 3}');
  const asked = new Promise<string>((resolve) => page.once('dialog', (d) => { resolve(d.type()); void d.accept(); }));
  await page.close({ runBeforeUnload: true });
  expect(await asked).toBe('beforeunload');
});

async function jsonEdit(page: Page, edit: (fields: Record<string, unknown>) => void) {
  const editor = page.getByLabel('The configuration as JSON');
  const fields = JSON.parse(await editor.inputValue());
  edit(fields);
  await editor.fill(JSON.stringify(fields, null, 2));
  await page.locator('#json-review').click();
  await page.locator('#json-save').click();
}

async function secondBrowser(browser: Browser, info: TestInfo): Promise<Page> {
  const context = await browser.newContext({
    baseURL: info.project.use.baseURL,
    javaScriptEnabled: info.project.use.javaScriptEnabled,
  });
  return context.newPage();
}

test('two people edit at once: the second sees the conflict and re-applies their change', async ({ page, browser, javaScriptEnabled }, info) => {
  test.skip(!javaScriptEnabled, 'the JSON view needs JavaScript');
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'shared');
  await addField(page, 'x', 'number', '1');
  await addField(page, 'y', 'number', '1');
  const other = await secondBrowser(browser, info);
  await other.goto(`/ns/${ns}/shared`);
  await page.goto(`/ns/${ns}/shared`);

  // This person starts editing; the other saves first.
  const editor = page.getByLabel('The configuration as JSON');
  const mine = JSON.parse(await editor.inputValue());
  mine.y = 20;
  await editor.fill(JSON.stringify(mine, null, 2));
  await jsonEdit(other, (f) => { f.x = 10; });
  await expect(other.locator('#json-saved')).toBeVisible();
  // Told at once, and the edit is kept.
  await expect(page.locator('#changed-elsewhere')).toContainText('changed this configuration while you were editing');
  await page.locator('#json-review').click();
  await page.locator('#json-save').click();
  const conflict = page.locator('#conflict');
  await expect(conflict).toContainText('Someone else saved');
  await expect(conflict).toContainText('Nothing of yours was written');
  if (etcdEndpoints) {
    expect(stored(`${ns}-shared`)).toEqual({ x: 10, y: 1 });
  }
  await conflict.locator('#conflict-reapply').click();
  const review = page.locator('#json-review-panel');
  await expect(review.locator('tbody tr')).toHaveCount(1);
  await expect(review.locator('tbody th')).toHaveText('y');
  await review.locator('#json-save').click();
  await expect(page.locator('#json-saved')).toBeVisible();
  const api = await page.request.get(`/api/configurations/get?namespace=${ns}&name=shared`);
  expect(JSON.parse((await api.json()).json)).toEqual({ x: 10, y: 20 });
  await other.context().close();
});

/** The value before or after the change under review (one field), as JSON. */
async function reviewed(page: Page, side: 'before' | 'after'): Promise<unknown> {
  const cell = page.locator(`#review td.${side}`);
  await expect(cell).toHaveCount(1);
  return JSON.parse((await cell.textContent())!);
}

/** Saves the change under review, and waits for the page to show the saved configuration. */
async function saveReviewed(page: Page) {
  await page.locator('#review').getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#review')).toHaveCount(0);
}

test('lists and objects are edited item by item, without writing JSON', async ({ page }) => {
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'nested');
  // An empty list, then an object in it, then keys in that object.
  await addField(page, 'servers', 'list', '');
  // A list or an object opens with the form that adds to it.
  const addTo = async (place: string, what: 'item' | 'key') => {
    const panel = await openEdit(page, place);
    return panel.locator('form.field-add', { has: page.getByLabel(`Value of the new ${what} in ${place}`, { exact: true }) });
  };
  const list = await addTo('servers', 'item');
  await list.getByLabel('Type of the new item in servers', { exact: true }).selectOption('object');
  await list.getByRole('button', { name: 'Add an item' }).click();
  await expect(page.locator('#review-heading')).toHaveText('Review your change to servers');
  expect(await reviewed(page, 'after')).toEqual([{}]);
  await saveReviewed(page);
  for (const [key, kind, value] of [['host', 'text', 'db'], ['port', 'number', '5432']]) {
    const object = await addTo('servers › 0', 'key');
    await object.getByLabel('New key in servers › 0', { exact: true }).fill(key);
    await object.getByLabel('Type of the new key in servers › 0', { exact: true }).selectOption(kind);
    await object.getByLabel('Value of the new key in servers › 0', { exact: true }).fill(value);
    await object.getByRole('button', { name: 'Add a key' }).click();
    await saveReviewed(page);
  }
  // Items are numbered from 1 for people.
  await expect(page.locator('#fields tr.inner th', { hasText: 'item 1' })).toHaveCount(1);

  // A value deep inside: its own row, reviewed with old and new.
  await reviewValue(page, 'servers › 0 › port', '6543');
  await expect(page.locator('#review-heading')).toHaveText('Review your change to servers › 0 › port');
  expect(await reviewed(page, 'before')).toEqual([{ host: 'db', port: 5432 }]);
  expect(await reviewed(page, 'after')).toEqual([{ host: 'db', port: 6543 }]);
  await saveReviewed(page);

  // Rename a key; a key that is already there is refused with the reason, in place.
  const rename = async (to: string) => {
    const host = await openEdit(page, 'servers › 0 › host');
    await host.getByText('More for servers › 0 › host').click();
    await host.getByLabel('New name for servers › 0 › host', { exact: true }).fill(to);
    await host.getByRole('button', { name: 'Rename servers › 0 › host' }).click();
  };
  await rename('port');
  await expect(page.locator('#fields tr.editing').getByRole('alert')).toContainText('The key "port" in servers › 0 already exists');
  await page.goto(`/ns/${ns}/nested`);
  await rename('name');
  await saveReviewed(page);

  // Add a second item, then remove it; list items are numbered and cannot be renamed.
  const more = await addTo('servers', 'item');
  await more.getByLabel('Value of the new item in servers', { exact: true }).fill('spare');
  await more.getByRole('button', { name: 'Add an item' }).click();
  await saveReviewed(page);
  const spare = await openEdit(page, 'servers › 1');
  await spare.getByText('More for servers › 1').click();
  await expect(spare.getByRole('button', { name: /^Rename/ })).toHaveCount(0);
  await spare.getByRole('button', { name: 'Remove servers › 1' }).click();
  await expect(page.locator('#review').getByRole('button', { name: 'Remove it' })).toHaveClass(/danger/);
  await page.locator('#review').getByRole('button', { name: 'Remove it' }).click();
  await expect(page.locator('#review')).toHaveCount(0);

  const expected = { servers: [{ name: 'db', port: 6543 }] };
  if (etcdEndpoints) {
    expect(stored(`${ns}-nested`)).toEqual(expected);
  }
  const api = await page.request.get(`/api/configurations/get?namespace=${ns}&name=nested`);
  expect(JSON.parse((await api.json()).json)).toEqual(expected);
});

test('history shows what changed and reverts to an earlier version', async ({ page }) => {
  const ns = await newNamespace(page);
  await newConfiguration(page, ns, 'hist');
  await addField(page, 'level', 'text', 'info');
  await changeValue(page, 'level', 'debug');

  await page.getByRole('link', { name: 'History' }).click();
  const versions = page.locator('#versions tbody tr');
  await expect(versions).toHaveCount(3);
  await versions.first().getByRole('link', { name: 'What changed' }).click();
  await expect(page.locator('#diff td.before')).toHaveText('"info"');
  await expect(page.locator('#diff td.after')).toHaveText('"debug"');

  // The version with "info", second newest, viewed and reverted to.
  await versions.nth(1).getByRole('link').first().click();
  await expect(page.locator('#version-json')).toContainText('"info"');
  await page.locator('#revert').getByLabel('Yes, make this version the current one').check();
  await page.locator('#revert').getByRole('button', { name: 'Revert to this version' }).click();
  // Confirmed on the configuration, with what changed and an Undo.
  await expect(page).toHaveURL(new RegExp(`/ns/${ns}/hist\\?saved=\\d+$`));
  await expect(page.locator('#saved-summary')).toHaveText('level: "debug" → "info"');
  await expect(page.locator('#undo').getByRole('button', { name: 'Undo' })).toBeFocused();
  await page.getByRole('link', { name: 'History' }).click();
  await expect(page.locator('#versions tbody tr')).toHaveCount(4);
  await expect(page.locator('#versions tbody tr').first()).toContainText('reverted');
  const api = await page.request.get(`/api/configurations/get?namespace=${ns}&name=hist`);
  expect(JSON.parse((await api.json()).json)).toEqual({ level: 'info' });
});

test.describe('roles', () => {
  test.skip(!etcdEndpoints, 'accounts are made with the CLI, which shares the store through etcd');
  const binary = path.resolve(__dirname, '..', '..', 'target', 'release', 'confo');
  const addUser = (role: string, name: string) =>
    execFileSync(binary, ['user', 'add', '--role', role, name, '--etcd-endpoints', etcdEndpoints], {
      input: `${PASSWORD}\n`,
      env: { ...process.env, RUST_LOG: 'warn' },
    });

  test('a review kept open while another person saves ends in a conflict naming them, and saves nothing', async ({ page, browser, javaScriptEnabled }, info) => {
    const ns = await newNamespace(page);
    await newConfiguration(page, ns, 'limits');
    await addField(page, 'limit', 'number', '6');
    const otherName = uniqueName('other');
    addUser('editor', otherName);
    const other = await secondBrowser(browser, info);
    await other.context().clearCookies();
    await other.goto('/login');
    await other.getByLabel('Name').fill(otherName);
    await other.getByLabel('Password').fill(PASSWORD);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await expect(other.locator('#signed-in-as')).toHaveText(otherName);

    // This person reviews 6 → 7 ...
    const change = async (who: Page, value: string) => {
      await who.goto(`/ns/${ns}/limits`);
      await reviewValue(who, 'limit', value);
      expect(await reviewed(who, 'after')).toBe(Number(value));
    };
    await change(page, '7');
    if (javaScriptEnabled) {
      await expect(page.locator('#live-status')).toHaveText('Live updates: on');
    }
    // ... while the other saves 4.
    await change(other, '4');
    await saveReviewed(other);
    if (javaScriptEnabled) {
      // Told as soon as it arrives; the review still holds the revision it was made against.
      await expect(page.locator('#review-changed')).toContainText(otherName);
    }
    await page.locator('#review').getByRole('button', { name: 'Save' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'nothing of yours was saved' });
    await expect(alert).toContainText(otherName);
    await expect(alert).toContainText('limit: 6 → 4');
    await expect(alert).toContainText('limit: 6 → 7');
    expect(stored(`${ns}-limits`)).toEqual({ limit: 4 });
    // The same change, reviewed again on the latest version, saves.
    await page.locator('#review-again').click();
    expect(await reviewed(page, 'before')).toBe(4);
    expect(await reviewed(page, 'after')).toBe(7);
    await expect(page.locator('#review-changed')).toHaveCount(0);
    await saveReviewed(page);
    expect(stored(`${ns}-limits`)).toEqual({ limit: 7 });
    await other.context().close();
  });

  test('a viewer sees no edit control; an editor cannot touch a namespace not granted', async ({ page, browser }, info) => {
    const ns = await newNamespace(page);
    await newConfiguration(page, ns, 'ro');
    await addField(page, 'k', 'text', 'v');
    const viewer = uniqueName('viewer');
    addUser('viewer', viewer);
    const person = await secondBrowser(browser, info);
    await person.context().clearCookies();
    await person.goto('/login');
    await person.getByLabel('Name').fill(viewer);
    await person.getByLabel('Password').fill(PASSWORD);
    await person.getByRole('button', { name: 'Sign in' }).click();
    await expect(person.locator('#signed-in-as')).toHaveText(viewer);
    await person.goto(`/ns/${ns}/ro`);
    await expect(person.locator('#fields tbody th')).toHaveText('k');
    await expect(shownValue(fieldRow(person, 'k'))).toHaveText('v');
    await expect(person.getByRole('link', { name: 'Edit k' })).toHaveCount(0);
    await expect(person.locator('#add-field')).toHaveCount(0);
    await expect(person.locator('#json-read-only')).toContainText('"k"');
    const forged = await person.request.post('/api/configurations/edit', {
      form: {
        namespace: ns, name: 'ro', revision: '0', seq: '0', comment: '',
        'edit[op]': 'set', 'edit[field]': 'k', 'edit[kind]': 'text', 'edit[value]': 'forged',
      },
    });
    expect(forged.status()).toBe(403);

    // An editor granted another namespace only.
    const editor = uniqueName('editor');
    addUser('editor', editor);
    await page.goto(`/users/${editor}`);
    const roles = page.locator('#update-user');
    await roles.getByLabel('Only these').check();
    await roles.getByLabel(/^Not created yet/).fill('somewhere_else');
    await roles.getByRole('button', { name: 'Save role and namespaces' }).click();
    await expect(page.locator('#user-summary')).toContainText('somewhere_else');
    await person.context().clearCookies();
    await person.goto('/login');
    await person.getByLabel('Name').fill(editor);
    await person.getByLabel('Password').fill(PASSWORD);
    await person.getByRole('button', { name: 'Sign in' }).click();
    await expect(person.locator('#signed-in-as')).toHaveText(editor);
    await person.goto(`/ns/${ns}/ro`);
    await expect(person.getByRole('alert')).toContainText('may not do this');
    await person.goto('/');
    await expect(person.locator('#namespace-list li', { hasText: ns })).toHaveCount(0);
    const refused = await person.request.post('/api/configurations/edit', {
      form: {
        namespace: ns, name: 'ro', revision: '0', seq: '0', comment: '',
        'edit[op]': 'set', 'edit[field]': 'k', 'edit[kind]': 'text', 'edit[value]': 'forged',
      },
    });
    expect(refused.status()).toBe(403);
    if (etcdEndpoints) {
      expect(stored(`${ns}-ro`)).toEqual({ k: 'v' });
    }
    await person.context().close();
  });
});
