import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { KEY, agentJson, chat, writePolicyFile } from './live-agent.js';

/**
 * The pages as a person sees them: a real agent (the CLI) with a policy, real requests through the
 * proxy (one blocked, some allowed), and the pages it serves under /ui/ opened in real Chromium.
 * Screenshots go to $BIFROST_EDGE_SCREENSHOTS (default: a temp folder) for a human look.
 */

// The functions given to page.evaluate run in Chromium, where these are the browser's own globals. The tests are
// type-checked for Node, without the DOM library (which would let Node-side code use `document` unnoticed), so the
// few the pages' checks read are declared here, for this file only.
declare const document: { documentElement: { scrollWidth: number }; body: unknown };
declare const window: { innerWidth: number };
declare function getComputedStyle(element: unknown, pseudoElement?: string): { backgroundColor: string; content: string; opacity: string };

const rendererDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'renderer');
const screenshots = process.env.BIFROST_EDGE_SCREENSHOTS ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bifrost-edge-ui-'));
const EMAIL = 'jane.doe@acme-corp.com';
const BLOCK_MESSAGE = "Your key 'eng-team' does not allow gpt-4o on openai; allowed: gpt-4o-mini, o3-mini. Ask your admin, or pick an allowed model.";

interface NoticeJson { id: string; kind: string; why: { errorType?: string } }

let browser: Browser;
let standin: BifrostStandin;
let edge: EdgeProcess;
let blockNoticeId: string;

beforeAll(async () => {
  fs.mkdirSync(screenshots, { recursive: true });
  standin = await startBifrostStandin({ virtualKeys: [{ value: KEY }] });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ui-'));
  edge = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile: writePolicyFile(dataDir) } });
  expect((await chat(edge.proxyUrl, edge.caPem, 'gpt-4o')).status).toBe(403);
  expect((await chat(edge.proxyUrl, edge.caPem, 'gpt-4o-mini')).status).toBe(200);
  expect((await chat(edge.proxyUrl, edge.caPem, 'gpt-4o-mini', `Write to ${EMAIL} about the invoice.`)).status).toBe(200);
  const notices = await agentJson<NoticeJson[]>(edge.proxyUrl, '/notices.json');
  blockNoticeId = notices.find((n) => n.kind === 'blocked' && n.why.errorType === 'model_blocked')!.id;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await edge?.stop();
  await standin?.close();
});

async function open(pagePath: string, viewport = { width: 1100, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const external: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (request) => { if (!request.url().startsWith(edge.proxyUrl) && !request.url().startsWith('file:')) external.push(request.url()); });
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  await page.goto(`${edge.proxyUrl}/ui/${pagePath}`);
  Object.assign(page, { external, consoleErrors });
  return page;
}

/** No request left the agent's origin and no script failed (CSP violations are console errors too). */
function expectCleanLoad(page: Page): void {
  const { external, consoleErrors } = page as Page & { external: string[]; consoleErrors: string[] };
  expect(external).toEqual([]);
  expect(consoleErrors).toEqual([]);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
}

async function noHorizontalScroll(page: Page): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
}

describe('the /ui/ file server', () => {
  it('answers a malformed %-escape or a path out of the folder with 404, not an internal error', async () => {
    for (const bad of ['/ui/%E0%A4%A', '/ui/%', '/ui/..%2f..%2fpackage.json', '/ui/%2e%2e/package.json']) {
      const response = await fetch(`${edge.proxyUrl}${bad}`);
      expect({ bad, status: response.status }).toEqual({ bad, status: 404 });
    }
    expect((await fetch(`${edge.proxyUrl}/ui/status.html`)).status).toBe(200);
  });
});

describe('status page', () => {
  it('shows the user, key, policy version, connectivity, budget bar, rate limit and the last block with a link to it', async () => {
    const page = await open('status.html');
    await page.locator('#content').waitFor();
    expect(await page.getByRole('heading', { level: 1 }).allInnerTexts()).toEqual(['Status']);
    await expect.poll(() => page.locator('#summary').innerText()).toBe('Protecting your AI traffic.');
    expect(await page.locator('#summary').getAttribute('aria-live')).toBe('polite');

    const facts = await page.locator('#facts').innerText();
    expect(facts).toMatch(/User\s+Ada Lovelace <ada@example.com>/);
    expect(facts).toMatch(/Virtual key\s+eng-team \(vk-eng\), active/);
    expect(facts).toMatch(/Policy\s+Version 7, issued 1\d min ago/);
    expect(facts).toMatch(/AI requests continue \(fail-open\)/);
    expect(facts).toMatch(/Bifrost gateway: reachable/);

    const budget = page.getByRole('progressbar', { name: 'Key budget' });
    expect(await budget.getAttribute('aria-valuenow')).toBe('25');
    expect(await page.locator('#budgets').innerText()).toMatch(/\$2\.50 of \$10\.00 per month[\s\S]*25% used · resets in 29 d/);
    const requests = page.getByRole('progressbar', { name: 'Key requests' });
    expect(await requests.getAttribute('aria-valuetext')).toMatch(/^2% used: 2 of 100 requests per hour$/);

    const blocks = page.getByRole('table', { name: /Requests Bifrost Edge refused recently/ });
    expect(await blocks.locator('th[scope=col]').allInnerTexts()).toEqual(['WHEN', 'APP', 'MODEL', 'WHY', 'DETAILS']);
    const row = blocks.locator('tbody tr').first();
    expect(await row.innerText()).toContain(BLOCK_MESSAGE);
    expect(await row.innerText()).toContain('openai / gpt-4o');
    expect(await row.getByRole('link', { name: /Details/ }).getAttribute('href')).toBe(`notice.html?id=${blockNoticeId}`);

    // The SDK is in no app catalog (the policy has none): listed as not yet reviewed, not hidden.
    expect(await page.locator('#shadow').innerText()).toMatch(/^openai-sdk \(app, on api\.openai\.com\), seen \d+ times/);
    expectCleanLoad(page);
    await shot(page, 'status');
    await page.close();
  });

  it('fits a narrow window', async () => {
    const page = await open('status.html', { width: 390, height: 844 });
    await page.locator('#content').waitFor();
    await noHorizontalScroll(page);
    await shot(page, 'status-narrow');
    await page.close();
  });
});

describe('activity page', () => {
  it('lists the requests with app, host, provider/model, a coloured decision, findings and latency', async () => {
    const page = await open('activity.html');
    await page.locator('#content').waitFor();
    const table = page.getByRole('table', { name: 'Recent AI requests, newest first' });
    expect(await table.locator('th[scope=col]').allInnerTexts()).toEqual(['TIME', 'APP', 'HOST', 'PROVIDER / MODEL', 'DECISION', 'FINDINGS', 'LATENCY']);
    const rows = table.locator('tbody tr');
    expect(await rows.count()).toBe(3);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-decision')))).toEqual(['redacted', 'forwarded', 'blocked']);

    const blocked = rows.nth(2);
    expect(await blocked.locator('.badge').innerText()).toBe('Blocked');
    expect(await blocked.innerText()).toContain('openai / gpt-4o');
    expect(await blocked.innerText()).toContain('api.openai.com');
    expect(await blocked.innerText()).toContain(BLOCK_MESSAGE);
    expect(await rows.nth(1).locator('.badge').innerText()).toBe('Allowed');
    expect(await rows.nth(0).locator('.findings').innerText()).toBe('email');
    expect(await rows.nth(0).innerText()).not.toContain(EMAIL);
    expect(await rows.nth(0).locator('td').last().innerText()).toMatch(/^\d+ ms$/);

    // The decision colour differs per decision (and the word is always there too).
    const colours = await page.locator('tbody .badge').evaluateAll((badges) => badges.map((b) => getComputedStyle(b).backgroundColor));
    expect(new Set(colours).size).toBe(3);
    expectCleanLoad(page);
    await shot(page, 'activity');
    await page.close();
  });

  it('updates by itself every 2 seconds and announces new requests politely', async () => {
    const page = await open('activity.html');
    await page.locator('#content').waitFor();
    const rows = page.locator('tbody tr');
    const before = await rows.count();
    expect((await chat(edge.proxyUrl, edge.caPem, 'o3-mini')).status).toBe(200);
    await expect.poll(() => rows.count(), { timeout: 6000 }).toBe(before + 1);
    expect(await rows.first().innerText()).toContain('openai / o3-mini');
    expect(await page.locator('#announcer').innerText()).toBe('1 new request.');
    expect(await page.locator('#announcer').getAttribute('aria-live')).toBe('polite');
    await page.close();
  });

  it('stacks into cards in a narrow window', async () => {
    const page = await open('activity.html', { width: 390, height: 844 });
    await page.locator('#content').waitFor();
    await noHorizontalScroll(page);
    expect(await page.locator('tbody td').first().evaluate((td) => getComputedStyle(td, '::before').content)).toBe('"Time"');
    await shot(page, 'activity-narrow');
    await page.close();
  });
});

describe('notice page', () => {
  it('explains one block: who, what, why, when and what to do next', async () => {
    const page = await open(`notice.html?id=${encodeURIComponent(blockNoticeId)}`, { width: 640, height: 760 });
    await page.locator('#notice').waitFor();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Request blocked');
    expect(await page.title()).toBe('Request blocked: Bifrost Edge');
    expect(await page.locator('#notice-message').innerText()).toBe(BLOCK_MESSAGE);
    const facts = await page.locator('#notice-facts').innerText();
    expect(facts).toMatch(/Who\s+ada@example.com, using OpenAI SDK client/);
    expect(facts).toMatch(/What\s+openai \/ gpt-4o at api.openai.com/);
    expect(facts).toMatch(/Why\s+Refused by your organization's AI policy \(model_blocked\)/);
    expect(facts).toMatch(/When\s+.+\((just now|\d+s ago)\)/);
    expect(facts).toContain(blockNoticeId);
    expect(await page.getByRole('heading', { name: 'What to do next' }).isVisible()).toBe(true);
    const steps = await page.locator('#notice-steps li').allInnerTexts();
    expect(steps[0]).toBe("Choose one of the allowed models in your app's settings instead of gpt-4o.");
    expect(steps.at(-1)).toContain(blockNoticeId);
    expectCleanLoad(page);
    await shot(page, 'notice');
    await page.close();
  });

  it('says so when the notice is gone, or none was asked for', async () => {
    const page = await open('notice.html?id=00000000-no-such-notice', { width: 640, height: 600 });
    await page.locator('#missing').waitFor();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('This notice is no longer available');
    await page.goto(`${edge.proxyUrl}/ui/notice.html`);
    await page.locator('#missing').waitFor();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('No notice selected');
    await page.close();
  });
});

describe('before anything happened: local mode, no policy, no traffic', () => {
  let quiet: EdgeProcess;
  beforeAll(async () => {
    quiet = await startEdgeProcess({ config: {} });
  });
  afterAll(async () => {
    await quiet?.stop();
  });

  it('every section says plainly that there is nothing yet', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    await page.goto(`${quiet.proxyUrl}/ui/status.html`);
    await page.locator('#content').waitFor();
    expect(await page.locator('#summary').innerText()).toBe('Protecting your AI traffic (local mode).');
    const facts = await page.locator('#facts').innerText();
    expect(facts).toMatch(/User\s+No sign-in needed \(local mode\)/);
    expect(facts).toMatch(/Virtual key\s+None yet: no policy received/);
    expect(facts).toMatch(/Policy\s+No policy received yet/);
    expect(facts).toMatch(/Bifrost gateway: not used/);
    expect(facts).toMatch(/Edge Control: not used/);
    expect(await page.locator('#budgets').innerText()).toBe('No budget: there is no active key.');
    expect(await page.locator('#rate-limits').innerText()).toBe('No rate limits: there is no active key.');
    expect(await page.locator('#blocks').innerText()).toBe('No requests have been blocked recently.');
    expect(await page.locator('#shadow-section').isVisible()).toBe(false);
    await shot(page, 'status-empty');

    await page.goto(`${quiet.proxyUrl}/ui/activity.html`);
    await page.locator('#content').waitFor();
    expect(await page.locator('#activity').innerText()).toMatch(/^No AI requests yet\./);
    expect(await page.locator('table').count()).toBe(0);
    await shot(page, 'activity-empty');
    await page.close();
  });

  it('follows the dark colour scheme', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, colorScheme: 'dark' });
    await page.goto(`${edge.proxyUrl}/ui/status.html`);
    await page.locator('#content').waitFor();
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(18, 22, 28)');
    await shot(page, 'status-dark');
    await page.goto(`${edge.proxyUrl}/ui/activity.html`);
    await page.locator('#content').waitFor();
    await shot(page, 'activity-dark');
    await page.close();
  });
});

describe('a person whose budget is spent', () => {
  let spent: EdgeProcess;
  let noticeId: string;
  beforeAll(async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-ui-spent-'));
    const policy = writePolicyFile(dataDir, {
      virtual_keys: [{
        id: 'vk-eng', name: 'eng-team', value: KEY, is_active: true,
        provider_configs: [{ provider: 'openai', allowed_models: ['*'] }],
        budgets: [{ max_limit: 10, reset_duration: '1M', current_usage: 10, last_reset: new Date(Date.now() - 86_400_000).toISOString() }],
        rate_limit: { request_max_limit: 1, request_reset_duration: '1h', request_current_usage: 1, request_last_reset: new Date(Date.now() - 60_000).toISOString() },
      }],
    });
    spent = await startEdgeProcess({ dataDir, config: { gateway: { url: standin.url }, policyFile: policy } });
    expect((await chat(spent.proxyUrl, spent.caPem, 'gpt-4o-mini')).status).toBe(429);
    noticeId = (await agentJson<NoticeJson[]>(spent.proxyUrl, '/notices.json')).find((n) => n.kind === 'blocked')!.id;
  });
  afterAll(async () => {
    await spent?.stop();
  });

  it('the status page says requests are refused, with full red bars', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(`${spent.proxyUrl}/ui/status.html`);
    await page.locator('#content').waitFor();
    expect(await page.locator('#summary').innerText()).toMatch(/^Your budget is used up, so AI requests are refused until it resets in 28 d 23 h\.$/);
    expect(await page.locator('#summary').getAttribute('class')).toContain('summary-blocked');
    expect(await page.getByRole('progressbar', { name: 'Key budget' }).getAttribute('aria-valuenow')).toBe('100');
    expect(await page.locator('#rate-limits').innerText()).toMatch(/1 of 1 requests per hour[\s\S]*Limit reached/);
    await shot(page, 'status-spent');
    await page.goto(`${spent.proxyUrl}/ui/notice.html?id=${noticeId}`);
    await page.locator('#notice').waitFor();
    expect(await page.locator('#notice-message').innerText()).toMatch(/eng-team/);
    expect((await page.locator('#notice-steps li').allInnerTexts())[0]).toMatch(/Wait until the limit resets|remaining budget/);
    await shot(page, 'notice-spent');
    await page.close();
  });
});

describe('when the agent stops answering', () => {
  it('the open pages keep their last data, dimmed, under an alert that says what to do', async () => {
    const status = await open('status.html');
    await status.locator('#content').waitFor();
    const activity = await open('activity.html');
    await activity.locator('#content').waitFor();

    await edge.stop();
    await status.getByRole('button', { name: 'Refresh' }).click();
    const alert = status.getByRole('alert');
    await alert.waitFor();
    expect(await alert.innerText()).toMatch(/Bifrost Edge is not answering[\s\S]*No answer from Bifrost Edge at 127\.0\.0\.1:\d+[\s\S]*bifrost-edge run/);
    expect(await status.locator('#content .card').first().evaluate((el) => getComputedStyle(el).opacity)).toBe('0.5');
    expect(await status.locator('#facts').innerText()).toContain('eng-team');
    expect(await status.locator('#summary').innerText()).toBe('Status unknown: Bifrost Edge is not answering.');
    await shot(status, 'status-agent-down');

    // The activity page notices on its own, at its next automatic update.
    await activity.getByRole('alert').waitFor({ timeout: 6000 });
    expect(await activity.locator('tbody tr').count()).toBeGreaterThan(0);
    await shot(activity, 'activity-agent-down');
    await status.close();
    await activity.close();
  });

  it('a window opened while the agent is down shows the bundled "not answering" page', async () => {
    const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
    await page.goto(pathToFileURL(path.join(rendererDir, 'unavailable.html')).toString());
    expect(await page.getByRole('alert').innerText()).toMatch(/Bifrost Edge is not answering[\s\S]*start it again/);
    await shot(page, 'unavailable');
    await page.close();
  });
});
