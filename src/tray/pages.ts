/**
 * The pages the tray opens. They are served by the agent itself under /ui/ (from renderer/), so a
 * window shows exactly what a browser pointed at the agent shows, with the agent's CSP.
 */
export type PageName = 'status' | 'activity' | 'notice';

export interface PageWindow {
  title: string;
  width: number;
  height: number;
}

export const PAGE_WINDOWS: Record<PageName, PageWindow> = {
  status: { title: 'Bifrost Edge status', width: 760, height: 720 },
  activity: { title: 'Bifrost Edge recent activity', width: 1040, height: 680 },
  notice: { title: 'Bifrost Edge: request blocked', width: 560, height: 520 },
};

export function pageUrl(proxyUrl: string, page: PageName, params: Record<string, string> = {}): string {
  const url = new URL(`/ui/${page}.html`, proxyUrl);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.toString();
}

/** True for URLs a window may navigate to: the agent's own pages, nothing else. */
export function isAgentPage(url: string, proxyUrl: string): boolean {
  try {
    const target = new URL(url);
    return target.origin === new URL(proxyUrl).origin && target.pathname.startsWith('/ui/');
  } catch {
    return false;
  }
}
