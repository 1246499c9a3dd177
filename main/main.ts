/**
 * Bifrost Edge desktop app: the Electron main process. It runs the agent in-process and shows its state
 * in the tray. Thin on purpose: what the tray shows, which notifications appear and how often, and where
 * the configuration lives are decided in src/tray (tested in plain Node); this file only connects those
 * decisions to Electron.
 *
 * Configuration: resolved like `bifrost-edge run` (src/tray/managed-config.ts): macOS managed preferences
 * or the Windows policy registry value, else the machine-wide JSON file, else defaults (local mode);
 * BIFROST_EDGE_CONFIG and BIFROST_EDGE_* variables may only fill in fields IT does not manage.
 */
import path from 'node:path';
import { app, dialog, Menu, nativeImage, Notification, safeStorage, shell, Tray } from 'electron';
import { startAgent, type RunningAgent } from '../src/agent.js';
import type { SessionManager } from '../src/auth/index.js';
import type { AgentConfig } from '../src/config/schema.js';
import { createLogger, routeConsoleToLogger, type LogLevel } from '../src/log.js';
import { packageRoot } from '../src/package-root.js';
import { createAgentClient } from '../src/tray/agent-client.js';
import { loadDesktopConfig, logConfigOrigin, type LoadedConfig } from '../src/tray/managed-config.js';
import { probePort } from '../src/util/port-probe.js';
import { describeStartFailure, startErrorSummary } from '../src/tray/start-error.js';
import type { PlannedNotification } from '../src/tray/notification-planner.js';
import { TrayController, type SessionView } from '../src/tray/tray-controller.js';
import { trayIconPng } from '../src/tray/tray-icon.js';
import { trayModel, type TrayAction, type TrayIcon, type TrayModel } from '../src/tray/tray-model.js';
import { menuTemplate } from './electron-menu.js';
import { PageWindows } from './page-windows.js';

const APP_ID = 'com.bifrost.edge';

let agent: RunningAgent | undefined;
let tray: Tray | undefined;
let controller: TrayController | undefined;
let session: SessionManager | undefined;
let quitting = false;
const windows = new PageWindows(() => agent?.proxyUrl, path.join(packageRoot(), 'renderer'));

if (!app.requestSingleInstanceLock()) {
  // Another copy owns the proxy port and the data dir; it opens its status window for us.
  app.quit();
} else {
  app.on('second-instance', () => windows.show('status'));
  // A tray app keeps running with no window open.
  app.on('window-all-closed', () => undefined);
  app.on('before-quit', (event) => {
    if (quitting || !agent) return;
    // Close the proxy (and its databases) before the process ends, then quit for real.
    event.preventDefault();
    quitting = true;
    controller?.stop();
    session?.stop();
    windows.closeAll();
    void agent.close().catch((err: Error) => console.error(`quitting although the shutdown failed (${err.message}); the next start takes over what was left behind`)).finally(() => app.quit());
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());
  void app.whenReady().then(launch);
}

async function launch(): Promise<void> {
  if (process.platform === 'win32') app.setAppUserModelId(APP_ID);
  app.dock?.hide();
  tray = new Tray(iconImage('off'));

  let loaded: LoadedConfig;
  try {
    loaded = loadDesktopConfig();
  } catch (err) {
    // The message already names the source, the field and the fix.
    return failedToStart((err as Error).message);
  }
  const config: AgentConfig = loaded.config;
  const log = createLogger(config.logLevel as LogLevel);
  routeConsoleToLogger(log);
  log.info('starting Bifrost Edge desktop app');
  logConfigOrigin(log, loaded);

  const portProblem = await probePort(config.proxy.host, config.proxy.port);
  if (portProblem) return failedToStart(describeStartFailure(portProblem, config.proxy.port));
  try {
    agent = await startAgent(config, { log, safeStorage });
  } catch (err) {
    return failedToStart(describeStartFailure(err as NodeJS.ErrnoException, config.proxy.port));
  }

  // The agent's own session: the tray signs in and out through it, so enrollment and forwarding see it.
  session = agent.session;
  controller = new TrayController({
    client: createAgentClient(agent.proxyUrl),
    shell: { render: renderTray, notify: showNotification },
    session: () => sessionView(session),
    auditQueue: () => agent?.auditQueue(),
    // The policy bundle has no grant to pause protection, so the menu never offers it (src/tray/tray-model.ts).
    pauseAllowed: () => false,
    onError: (err) => log.warn('the tray could not read the agent status', { error: (err as Error).message }),
  });
  session?.on('signed_in', () => controller?.rerender());
  session?.on('signed_out', () => controller?.rerender());
  controller.start();
}

function failedToStart(message: string): void {
  renderTray(trayModel({ status: undefined, reachable: false, signedIn: false, startError: startErrorSummary(message) }));
  dialog.showErrorBox('Bifrost Edge could not start', message);
}

function sessionView(current: SessionManager | undefined): SessionView {
  const identity = current?.getIdentity();
  const user = identity?.email ?? identity?.name;
  return { signedIn: identity !== undefined, signInAvailable: current !== undefined, ...(user !== undefined ? { user } : {}) };
}

function renderTray(model: TrayModel): void {
  if (!tray) return;
  tray.setImage(iconImage(model.icon));
  tray.setToolTip(model.tooltip);
  tray.setContextMenu(Menu.buildFromTemplate(menuTemplate(model.menu, runAction)));
}

function runAction(action: TrayAction): void {
  switch (action) {
    case 'open-status':
      return windows.show('status');
    case 'open-activity':
      return windows.show('activity');
    case 'sign-in':
      void session?.signIn({ openBrowser: (url) => shell.openExternal(url) }).catch((err: Error) => {
        dialog.showErrorBox('Sign-in failed', err.message);
      });
      return;
    case 'sign-out':
      void session?.signOut();
      return;
    case 'pause':
      // Never offered (pauseAllowed is false); nothing to pause until policy can grant it.
      return;
    case 'quit':
      app.quit();
      return;
  }
}

function showNotification(planned: PlannedNotification): void {
  if (!Notification.isSupported()) return;
  const notification = new Notification({ title: planned.title, body: planned.body });
  notification.on('click', () => {
    if (planned.noticeId) windows.show('notice', { id: planned.noticeId });
    else windows.show('activity');
  });
  notification.show();
}

/** 32 px drawn, shown at 16 points: sharp on high-density displays, right-sized on the others. */
function iconImage(icon: TrayIcon) {
  return nativeImage.createFromBuffer(trayIconPng(icon, 32), { scaleFactor: 2 });
}
