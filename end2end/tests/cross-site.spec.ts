import { expect, test } from './fixtures';
import { uniqueName } from './support';

// A page on another origin posts a form to the dashboard: the server refuses it with 403 and
// creates nothing. Submitting a form by clicking needs no JavaScript, so both projects run it.
test('a cross-site form post gets 403 and changes nothing', async ({ page, baseURL, request }) => {
  const name = uniqueName('forged');
  await page.setContent(`
    <form method="post" action="${baseURL}/api/namespaces/create">
      <input type="hidden" name="name" value="${name}">
      <button type="submit">Send</button>
    </form>`);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/namespaces/create')),
    page.getByRole('button', { name: 'Send' }).click(),
  ]);
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain('another site');

  const listed = await request.get('/api/namespaces/list');
  expect(listed.ok()).toBe(true);
  expect(await listed.json()).not.toContain(name);
});
