/**
 * The pages the browser shows when it comes back to Bifrost Edge after sign-in. Self-contained (no
 * scripts, images or remote fonts) because the callback URL carries the authorization code and must
 * not leak to anyone through a Referer or a fetch.
 */
export interface ResultPage {
  status: number;
  html: string;
}

export const RESULT_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'",
} as const;

export function signedInPage(who?: string): ResultPage {
  const detail = who ? `Signed in as <strong>${escapeHtml(who)}</strong>. ` : '';
  return {
    status: 200,
    html: layout('Signed in to Bifrost Edge', '✓', `You're signed in to Bifrost Edge — you can close this tab.`, `${detail}Bifrost Edge keeps you signed in and renews your session in the background.`),
  };
}

export function signInFailedPage(reason: string, status = 400): ResultPage {
  return {
    status,
    html: layout('Bifrost Edge sign-in failed', '✕', 'Sign-in to Bifrost Edge did not complete', `${escapeHtml(reason)}<br><br>You can close this tab and start again from the Bifrost Edge tray menu or with <code>bifrost-edge login</code>.`),
  };
}

export function notFoundPage(): ResultPage {
  return { status: 404, html: layout('Not found', '?', 'Nothing here', 'This address only receives the browser\'s return from a Bifrost Edge sign-in.') };
}

function layout(title: string, mark: string, heading: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
  body { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, sans-serif; background: #f5f6f8; color: #1d2330; margin: 0; }
  main { max-width: 32rem; margin: 12vh auto; background: #fff; border-radius: 12px; padding: 2rem 2.5rem; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
  .mark { font-size: 2.5rem; line-height: 1; }
  h1 { font-size: 1.3rem; margin: .8rem 0; }
  p { line-height: 1.5; color: #4a5263; }
  code { background: #eef0f4; padding: .1rem .3rem; border-radius: 4px; }
</style>
</head>
<body>
<main>
<div class="mark" aria-hidden="true">${mark}</div>
<h1>${escapeHtml(heading)}</h1>
<p>${body}</p>
</main>
</body>
</html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
