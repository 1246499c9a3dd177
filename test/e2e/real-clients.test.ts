import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startBifrostStandin, type BifrostStandin } from '../support/bifrost-standin.js';
import { startEdgeProcess, type EdgeProcess } from '../support/edge-process.js';
import { installIntoNssDb } from '../../src/ca/nss-database.js';

const EMPLOYEE_KEY = 'sk-bf-employee-real-clients';
const APP_GEMINI_KEY = 'AIzaSy-APP-KEY-never-leaves-the-laptop-000';

let standin: BifrostStandin;
let edge: EdgeProcess;

beforeAll(async () => {
  standin = await startBifrostStandin({ virtualKeys: [{ value: EMPLOYEE_KEY }] });
  edge = await startEdgeProcess({ config: { gateway: { url: standin.url, virtualKey: EMPLOYEE_KEY } } });
});

afterAll(async () => {
  await edge?.stop();
  await standin?.close();
});

/** The Python that has `requests`: pyenv's or Debian's (python3-requests). */
function pythonWithRequests(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import requests']).status === 0) return candidate;
  }
  throw new Error('no python3 with requests; run scripts/ensure-deps.sh test');
}

describe('real clients through Edge (gateway mode)', () => {
  it('python3 requests (REQUESTS_CA_BUNDLE): Gemini generateContent goes to /genai with x-bf-vk, no x-goog-api-key', async () => {
    standin.clear();
    const script = `
import json, os, requests
r = requests.post(
    "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent",
    headers={"x-goog-api-key": os.environ["APP_KEY"], "content-type": "application/json"},
    json={"contents": [{"role": "user", "parts": [{"text": "hello from python"}]}]},
    proxies={"https": os.environ["PROXY"]}, timeout=20)
print(json.dumps({"status": r.status_code, "body": r.json()}))
`;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(pythonWithRequests(), ['-c', script], { env: { ...process.env, REQUESTS_CA_BUNDLE: edge.caPath, PROXY: edge.proxyUrl, APP_KEY: APP_GEMINI_KEY } }, (err, stdout, stderr) => (err ? reject(new Error(stderr || String(err))) : resolve(stdout)));
    });
    const { status, body } = JSON.parse(out) as { status: number; body: { candidates: Array<{ content: { parts: Array<{ text: string }> } }> } };
    expect(status).toBe(200);
    expect(body.candidates[0]!.content.parts.map((p) => p.text).join('')).toContain('hello from python');
    const seen = await standin.waitForRequest((r) => r.path === '/genai/v1beta/models/gemini-2.0-flash:generateContent');
    expect(seen.headers['x-bf-vk']).toBe(EMPLOYEE_KEY);
    expect(seen.headers['x-goog-api-key']).toBeUndefined();
    expect(JSON.stringify(seen.headers)).not.toContain(APP_GEMINI_KEY);
    expect(seen.logHeaders.app).toBe('python-requests');
  });

  describe('headless Chromium trusting the Edge CA through its NSS database', () => {
    let browser: Browser;
    let home: string;

    beforeAll(async () => {
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-chromium-home-'));
      // Chromium on Linux reads trust anchors from ~/.pki/nssdb: install the CA the way Edge's installer does.
      await installIntoNssDb(path.join(home, '.pki', 'nssdb'), edge.caPath);
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        env: { ...process.env, HOME: home },
        args: [
          `--proxy-server=${edge.proxyUrl}`, '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
          '--disable-background-networking', '--disable-component-update', '--disable-sync',
        ],
      });
    });

    afterAll(async () => {
      await browser?.close();
    });

    it('loads an AI API page and posts a chat completion from the page', async () => {
      standin.clear();
      const page = await browser.newPage();
      const response = await page.goto('https://api.openai.com/v1/models');
      expect(response?.status()).toBe(200);
      const models = JSON.parse(await response!.text()) as { data: Array<{ id: string }> };
      expect(models.data.length).toBeGreaterThan(0);
      const chat = await page.evaluate(async () => {
        const r = await fetch('/v1/chat/completions', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proj-browser-key' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello from chromium' }] }),
        });
        return { status: r.status, body: await r.json() as { choices: Array<{ message: { content: string } }> } };
      });
      expect(chat.status).toBe(200);
      expect(chat.body.choices[0]!.message.content).toContain('hello from chromium');
      const seen = await standin.waitForRequest((r) => r.path === '/openai/v1/chat/completions');
      expect(seen.headers['x-bf-vk']).toBe(EMPLOYEE_KEY);
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.logHeaders.app).toBe('chrome');
      expect(standin.received.some((r) => r.path === '/openai/v1/models')).toBe(true);
      await page.close();
    });
  });
});
