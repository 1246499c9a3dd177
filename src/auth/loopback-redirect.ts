import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { notFoundPage, RESULT_PAGE_HEADERS, signInFailedPage, type ResultPage } from './result-pages.js';

export const CALLBACK_PATH = '/callback';

/** One browser return to the redirect URI, held open until the caller knows which page to show. */
export interface RedirectCallback {
  /** The full URL the browser requested, e.g. http://127.0.0.1:53122/callback?code=…&state=… */
  url: URL;
  /** Answers the browser; only the first call counts. */
  respond(page: ResultPage): void;
}

export interface LoopbackRedirectListener {
  /** `http://127.0.0.1:{port}/callback`, the redirect URI to put in the authorization request. */
  readonly redirectUri: string;
  /**
   * Resolves with the browser's return for the sign-in that sent `expectedState`: a GET to the
   * redirect URI carrying that `state`. Anything else (a HEAD prefetch, a local port scan, a forged or
   * stale link) gets a 400 page and the listener keeps waiting, so it can't end the sign-in before the
   * real return. Later returns are answered with an error page and ignored.
   */
  nextCallback(expectedState: string): Promise<RedirectCallback>;
  /** Stops listening and drops kept-alive browser connections so the process can exit. */
  close(): Promise<void>;
}

/**
 * The RFC 8252 §7.3 loopback redirect: a one-shot HTTP listener on 127.0.0.1 with a port the OS
 * picks, so no fixed port can be squatted and nothing is reachable from the network.
 */
export async function startLoopbackRedirectListener(): Promise<LoopbackRedirectListener> {
  let received: RedirectCallback | undefined;
  let expectedState: string | undefined;
  let deliver: ((callback: RedirectCallback) => void) | undefined;
  const firstCallback = new Promise<RedirectCallback>((resolve) => (deliver = resolve));
  const unanswered = new Set<http.ServerResponse>();

  const server = http.createServer((req, res) => {
    const port = (server.address() as AddressInfo).port;
    // A page on some web site can't make the browser send this Host (DNS rebinding), and we refuse anything else.
    if (req.headers.host !== `127.0.0.1:${port}`) return send(res, signInFailedPage('This request was not addressed to Bifrost Edge\'s sign-in listener.', 400));
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || url.pathname !== CALLBACK_PATH) return send(res, notFoundPage());
    if (received) {
      return send(res, signInFailedPage('This sign-in response was already received. A sign-in link works only once: use the tab that showed the result, or start a new sign-in.', 409));
    }
    if (req.method !== 'GET' || expectedState === undefined || url.searchParams.get('state') !== expectedState) {
      return send(res, signInFailedPage('This sign-in response does not belong to the sign-in Bifrost Edge is waiting for (state mismatch), so it was ignored: it came from an old or forged link. If you are signing in, finish in the tab Bifrost Edge opened.', 400));
    }
    unanswered.add(res);
    let answered = false;
    received = {
      url,
      respond(page) {
        if (answered) return;
        answered = true;
        unanswered.delete(res);
        send(res, page);
      },
    };
    deliver?.(received);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    nextCallback: (state) => {
      expectedState = state;
      return firstCallback;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of unanswered) send(res, signInFailedPage('Bifrost Edge stopped waiting for this sign-in.', 410));
        unanswered.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: http.ServerResponse, page: ResultPage): void {
  if (res.headersSent) return;
  res.writeHead(page.status, { ...RESULT_PAGE_HEADERS, 'content-length': Buffer.byteLength(page.html), connection: 'close' });
  res.end(page.html);
}
