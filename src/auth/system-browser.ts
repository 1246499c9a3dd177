import { spawn } from 'node:child_process';

/** Opens a URL for the employee to act on; injected so tests (and Electron's shell.openExternal) can replace it. */
export type OpenBrowser = (url: string) => Promise<void>;

interface OpenerCommand {
  file: string;
  args: string[];
  /** Windows: pass args to cmd.exe exactly as built (its quoting differs from the C runtime's). */
  verbatim?: boolean;
}

/** The per-platform command that hands a URL to the default browser. */
export function browserOpenerCommand(url: string, platform: NodeJS.Platform = process.platform): OpenerCommand {
  if (platform === 'darwin') return { file: 'open', args: [url] };
  if (platform === 'win32') {
    // `start` is a cmd.exe builtin. Built like Node's own shell:true command line: /s strips the outer
    // quotes, "" is the window title, and the quoted URL keeps cmd from splitting it at each "&".
    return { file: 'cmd.exe', args: ['/d', '/s', '/c', `"start "" "${url}""`], verbatim: true };
  }
  return { file: 'xdg-open', args: [url] };
}

/**
 * Opens `url` in the system browser (RFC 8252 §4: never an embedded web view, whose page the app
 * could read) and returns as soon as the opener has started: it does not wait for the browser.
 * Rejects when no opener exists (e.g. xdg-open on a server), so the caller can say "visit this URL".
 */
export const openSystemBrowser: OpenBrowser = (url) => {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return Promise.reject(new Error(`refusing to open ${parsed.protocol} URL in the browser: only http(s) sign-in pages are opened`));
  }
  const command = browserOpenerCommand(parsed.href);
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command.file, command.args, {
      stdio: 'ignore',
      detached: true,
      windowsHide: true,
      windowsVerbatimArguments: command.verbatim === true,
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new Error(error.code === 'ENOENT' ? `no browser opener found (${command.file} is not installed)` : `could not start ${command.file}: ${error.message}`));
    });
    child.once('spawn', () => {
      child.unref();
      resolve();
    });
  });
};
