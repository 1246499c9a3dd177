import path from 'node:path';
import { BrowserWindow, shell } from 'electron';
import { isAgentPage, PAGE_WINDOWS, pageUrl, type PageName } from '../src/tray/pages.js';

/**
 * One window per page (status, activity, notice), reused when opened again. The windows show the pages
 * the agent serves under /ui/: plain web pages with no Node access (no preload, sandboxed), allowed to
 * navigate only among the agent's own pages. When the agent does not answer, the window shows the
 * bundled renderer/unavailable.html instead of Chromium's error page.
 */
export class PageWindows {
  private readonly open = new Map<PageName, BrowserWindow>();

  constructor(private readonly proxyUrl: () => string | undefined, private readonly rendererDir: string) {}

  show(page: PageName, params: Record<string, string> = {}): void {
    const proxyUrl = this.proxyUrl();
    const existing = this.open.get(page);
    const window = existing ?? this.create(page);
    if (proxyUrl) void window.loadURL(pageUrl(proxyUrl, page, params)).catch(() => undefined);
    else void window.loadFile(path.join(this.rendererDir, 'unavailable.html'));
    if (existing) {
      if (existing.isMinimized()) existing.restore();
      existing.focus();
    }
  }

  closeAll(): void {
    for (const window of this.open.values()) window.destroy();
    this.open.clear();
  }

  private create(page: PageName): BrowserWindow {
    const spec = PAGE_WINDOWS[page];
    const window = new BrowserWindow({
      title: spec.title,
      width: spec.width,
      height: spec.height,
      minWidth: 360,
      minHeight: 320,
      show: false,
      autoHideMenuBar: true,
      webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false },
    });
    window.once('ready-to-show', () => window.show());
    window.on('closed', () => this.open.delete(page));
    const proxyUrl = () => this.proxyUrl() ?? 'http://127.0.0.1';
    // Links to anything but the agent's pages (docs, the admin console) open in the person's browser.
    window.webContents.setWindowOpenHandler(({ url }) => {
      if (/^https?:/.test(url) && !isAgentPage(url, proxyUrl())) void shell.openExternal(url);
      return { action: 'deny' };
    });
    window.webContents.on('will-navigate', (event, url) => {
      if (isAgentPage(url, proxyUrl())) return;
      event.preventDefault();
      if (/^https?:/.test(url)) void shell.openExternal(url);
    });
    window.webContents.on('did-fail-load', (_event, _code, _description, url, isMainFrame) => {
      if (isMainFrame && isAgentPage(url, proxyUrl())) void window.loadFile(path.join(this.rendererDir, 'unavailable.html'));
    });
    this.open.set(page, window);
    return window;
  }
}
