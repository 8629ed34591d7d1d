import { expect, test, type Page } from './fixtures';
import { uniqueName } from './support';

// Layout and colours do not depend on JavaScript; checked once, in the project that has it.

/** A namespace with a configuration holding a list, so that every kind of row is on the pages. */
async function someConfiguration(page: Page): Promise<string> {
  const ns = uniqueName('lay');
  expect((await page.request.post('/api/namespaces/create', { form: { name: ns } })).ok()).toBeTruthy();
  expect((await page.request.post('/api/configurations/create', { form: { namespace: ns, name: 'svc' } })).status()).toBeLessThan(400);
  const current = await (await page.request.get(`/api/configurations/get?namespace=${ns}&name=svc`)).json();
  const saved = await page.request.post('/api/configurations/edit', {
    form: {
      namespace: ns, name: 'svc', revision: String(current.revision), seq: String(current.seq), comment: '',
      'edit[op]': 'set', 'edit[field]': 'a_rather_long_field_name_for_a_phone',
      'edit[kind]': 'list', 'edit[value]': '[{"host": "db-primary.internal.example.com", "port": 5432}]',
    },
  });
  expect(saved.status()).toBeLessThan(400);
  return ns;
}

function pages(ns: string): string[] {
  return [
    '/',
    `/ns/${ns}`,
    `/ns/${ns}/svc`,
    // A field open for editing, with its menu.
    `/ns/${ns}/svc?edit=a_rather_long_field_name_for_a_phone`,
    // A review with an error in it, so that error text is checked too.
    `/ns/${ns}/svc?op=set&field=port&kind=number&value=five`,
    `/ns/${ns}/svc/history`,
    '/audit',
    '/requests?show=all',
    '/users',
    '/account',
  ];
}

test('every page fits a phone screen without sideways scrolling', async ({ page, javaScriptEnabled }) => {
  test.skip(!javaScriptEnabled, 'layout is the same without JavaScript');
  const ns = await someConfiguration(page);
  await page.setViewportSize({ width: 360, height: 740 });
  for (const path of pages(ns)) {
    await page.goto(path);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, `${path} is wider than the screen`).toBeLessThanOrEqual(0);
  }
});

for (const colorScheme of ['light', 'dark'] as const) {
  test(`text is readable in the ${colorScheme} theme (WCAG AA contrast)`, async ({ page, javaScriptEnabled }) => {
    test.skip(!javaScriptEnabled, 'colours are the same without JavaScript');
    const ns = await someConfiguration(page);
    await page.emulateMedia({ colorScheme });
    for (const path of pages(ns)) {
      await page.goto(path);
      const poor = await page.evaluate(() => {
        const rgb = (text: string): number[] => (text.match(/[\d.]+/g) ?? []).map(Number);
        const luminance = ([r, g, b]: number[]) => {
          const channel = (c: number) => {
            const s = c / 255;
            return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
          };
          return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
        };
        const background = (element: Element | null): number[] => {
          for (let e = element; e; e = e.parentElement) {
            const colour = rgb(getComputedStyle(e).backgroundColor);
            if (colour.length === 3 || (colour.length === 4 && colour[3] > 0)) {
              return colour.slice(0, 3);
            }
          }
          return [255, 255, 255];
        };
        const found: string[] = [];
        for (const element of Array.from(document.querySelectorAll('header *, main *'))) {
          const ownText = Array.from(element.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim());
          const box = element.getBoundingClientRect();
          if (!ownText || box.width === 0 || box.height === 0) {
            continue;
          }
          const fg = luminance(rgb(getComputedStyle(element).color));
          const bg = luminance(background(element));
          const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
          if (ratio < 4.5) {
            found.push(`${element.tagName.toLowerCase()}.${element.className} "${element.textContent!.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
          }
        }
        // The chart's bars are graphics: at least 3:1 against what is behind them.
        for (const bar of Array.from(document.querySelectorAll('figure.chart rect'))) {
          const fill = luminance(rgb(getComputedStyle(bar).fill));
          const bg = luminance(background(bar.closest('figure')));
          const ratio = (Math.max(fill, bg) + 0.05) / (Math.min(fill, bg) + 0.05);
          if (ratio < 3) {
            found.push(`chart bar: ${ratio.toFixed(2)}`);
          }
        }
        return found;
      });
      expect(poor, `${path} in the ${colorScheme} theme`).toEqual([]);
    }
  });
}
