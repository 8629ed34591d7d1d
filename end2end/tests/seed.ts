// Configurations made through the API, for specs about what is done with them.
import { expect, type Page } from './fixtures';

/** Creates namespace `ns` and its configuration `name` holding `json`, through the API. */
export async function seed(page: Page, ns: string, name: string, json: object) {
  expect((await page.request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/configurations/create', { form: { namespace: ns, name } })).status()).toBeLessThan(400);
  await saveJson(page, ns, name, json);
}

/** Saves `json` as the whole value of configuration `name`, through the API. */
export async function saveJson(page: Page, ns: string, name: string, json: object) {
  const loaded = await (await page.request.get(`/api/configurations/get?namespace=${ns}&name=${name}`)).json();
  expect((await page.request.post('/api/configurations/save', {
    form: { namespace: ns, name, revision: String(loaded.revision), seq: String(loaded.seq), json: JSON.stringify(json), comment: '' },
  })).ok()).toBeTruthy();
}
