// What every spec imports in place of '@playwright/test': the same API, and a test fails when a
// page it opened broke the server's Content-Security-Policy (an inline script or style without
// the response's nonce, a script from elsewhere), in the spec's own browser context and in any
// second browser context it opens.
import { test as base, expect, type Browser, type BrowserContext } from '@playwright/test';

export * from '@playwright/test';

/** The name of the binding through which pages report violations to the test. */
const REPORT = '__confoCspViolation';

/** Collects into `violations` what pages of `context` report about the policy. */
async function watch(context: BrowserContext, violations: string[]): Promise<void> {
  // Chromium logs every blocked script, style or connection on the console.
  context.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) {
      violations.push(`${message.page()?.url() ?? '(no page)'}: ${message.text()}`);
    }
  });
  // And the page itself is told: `securitypolicyviolation` events, before any page script runs.
  await context.exposeBinding(REPORT, ({ page }, report: string) => {
    violations.push(`${page.url()}: ${report}`);
  });
  await context.addInitScript((report: string) => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const where = event.sourceFile ? ` at ${event.sourceFile}:${event.lineNumber}` : '';
      const send = (window as unknown as Record<string, (text: string) => void>)[report];
      send(`${event.effectiveDirective} blocked ${event.blockedURI || 'an inline script or style'}${where}`);
    });
  }, REPORT);
}

export const test = base.extend<{ failOnCspViolation: void }>({
  failOnCspViolation: [
    async ({ context, browser }, use) => {
      const violations: string[] = [];
      await watch(context, violations);
      // Second browsers a spec opens (another person signed in) are watched as well.
      const newContext = browser.newContext;
      browser.newContext = async (...args: Parameters<Browser['newContext']>) => {
        const opened = await newContext.apply(browser, args);
        await watch(opened, violations);
        return opened;
      };
      try {
        await use();
      } finally {
        browser.newContext = newContext;
      }
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
});
