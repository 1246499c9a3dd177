import { chromium, type Browser, type Page } from 'playwright-core';

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens `url` in a fresh page, as a link from anywhere would, and returns the page's status and text. */
export async function visit(browser: Browser, url: string): Promise<{ status: number | undefined; text: string }> {
  const page = await browser.newPage();
  try {
    const response = await page.goto(url);
    return { status: response?.status(), text: await page.locator('body').innerText() };
  } finally {
    await page.close();
  }
}

export interface EmployeeOptions {
  /** Any login name works with oidc-provider's dev form; it becomes the `sub`. */
  login?: string;
  /** Click "Cancel" on the provider's login page instead of signing in. */
  cancel?: boolean;
}

export interface BrowsingEmployee {
  /** The `openBrowser` to inject into login(): behaves like a person in the system browser. */
  openBrowser(url: string): Promise<void>;
  /** Resolves once the browser shows Bifrost Edge's result page, with its text and the callback URL. */
  result(): Promise<{ text: string; callbackUrl: string; page: Page }>;
  close(): Promise<void>;
}

/**
 * Headless Chromium driven like an employee: opens the sign-in URL, fills the provider's login form,
 * consents, and ends on Bifrost Edge's loopback callback page.
 */
export function browsingEmployee(browser: Browser, options: EmployeeOptions = {}): BrowsingEmployee {
  let settle!: { resolve: (value: { text: string; callbackUrl: string; page: Page }) => void; reject: (error: unknown) => void };
  const outcome = new Promise<{ text: string; callbackUrl: string; page: Page }>((resolve, reject) => (settle = { resolve, reject }));
  outcome.catch(() => undefined);
  const context = browser.newContext();

  async function drive(url: string): Promise<void> {
    const page = await (await context).newPage();
    // The provider's page imports a web font; nothing leaves the machine in tests.
    await page.route((u) => u.hostname !== '127.0.0.1', (route) => route.abort());
    await page.goto(url);
    if (options.cancel) {
      await page.click('a[href*="/abort"]');
    } else {
      await page.fill('input[name=login]', options.login ?? 'alice');
      await page.fill('input[name=password]', 'any password');
      const loginPage = page.url();
      await page.click('button[type=submit]');
      await page.waitForURL((u) => u.href !== loginPage, { timeout: 10_000 });
      // Consent step (offline_access needs it at oidc-provider), unless the provider skipped it.
      if (!/\/callback/.test(page.url()) && (await page.locator('input[name=prompt][value=consent]').count()) > 0) {
        await page.click('button[type=submit]');
      }
    }
    await page.waitForURL(/127\.0\.0\.1:\d+\/callback/, { timeout: 10_000 });
    const text = await page.locator('body').innerText();
    settle.resolve({ text, callbackUrl: page.url(), page });
  }

  return {
    openBrowser(url) {
      return drive(url).catch((error: unknown) => {
        settle.reject(error);
        throw error;
      });
    },
    result: () => outcome,
    async close() {
      await (await context).close();
    },
  };
}
