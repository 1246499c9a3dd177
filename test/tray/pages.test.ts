import { describe, expect, it } from 'vitest';
import { isAgentPage, pageUrl, type PageName } from '../../src/tray/pages.js';

describe('page URLs', () => {
  const proxy = 'http://127.0.0.1:8790';
  it.each<{ page: PageName; params: Record<string, string>; url: string }>([
    { page: 'status', params: {}, url: 'http://127.0.0.1:8790/ui/status.html' },
    { page: 'activity', params: {}, url: 'http://127.0.0.1:8790/ui/activity.html' },
    { page: 'notice', params: { id: 'a b&c' }, url: 'http://127.0.0.1:8790/ui/notice.html?id=a+b%26c' },
  ])('$page', ({ page, params, url }) => {
    expect(pageUrl(proxy, page, params)).toBe(url);
  });

  it.each([
    { url: 'http://127.0.0.1:8790/ui/notice.html?id=1', ok: true },
    { url: 'http://127.0.0.1:8790/status.json', ok: false },
    { url: 'http://127.0.0.1:9999/ui/status.html', ok: false },
    { url: 'https://evil.example/ui/status.html', ok: false },
    { url: 'not a url', ok: false },
  ])('windows may navigate to $url: $ok', ({ url, ok }) => {
    expect(isAgentPage(url, proxy)).toBe(ok);
  });
});
