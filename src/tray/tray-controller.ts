import type { AgentClient } from './agent-client.js';
import type { AgentStatus, AuditQueueSignal, Notice } from './agent-status.js';
import { NotificationPlanner, type PlannedNotification } from './notification-planner.js';
import { trayModel, type TrayModel } from './tray-model.js';

/**
 * The tray's loop, without Electron: every few seconds it asks the agent for its status and notices,
 * rebuilds the tray model and hands the shell what changed, plus the notifications to show.
 *
 * Notices are polled from /notices.json rather than subscribed to: startAgent does not expose the
 * NoticeBus, and polling the same endpoint the pages read keeps the tray honest about what a person
 * can see (a 2 s delay on a pop-up is fine).
 */

export interface TrayShell {
  /** Called only when the model differs from the last one: rebuilding an open menu closes it on Windows. */
  render(model: TrayModel): void;
  notify(notification: PlannedNotification): void;
}

export interface SessionView {
  signedIn: boolean;
  signInAvailable: boolean;
  user?: string;
}

export interface TrayControllerOptions {
  client: AgentClient;
  shell: TrayShell;
  session: () => SessionView;
  auditQueue?: () => AuditQueueSignal | undefined;
  pauseAllowed?: () => boolean;
  intervalMs?: number;
  planner?: NotificationPlanner;
  now?: () => Date;
  onError?: (err: unknown) => void;
}

export class TrayController {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastRendered = '';
  private lastStatus: AgentStatus | undefined;
  /** Starts true so a first failed poll is reported too. */
  private reachable = true;
  private readonly planner: NotificationPlanner;
  private readonly now: () => Date;

  constructor(private readonly options: TrayControllerOptions) {
    this.planner = options.planner ?? new NotificationPlanner();
    this.now = options.now ?? (() => new Date());
  }

  /** Renders at once, then every `intervalMs` (default 2 s). */
  start(): void {
    if (this.timer) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? 2000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One poll; concurrent callers share it, so a slow agent never gets a pile of requests. */
  tick(): Promise<void> {
    this.ticking ??= this.poll().finally(() => { this.ticking = undefined; });
    return this.ticking;
  }

  /** Re-renders from the last status without asking the agent (after sign-in/out). */
  rerender(): void {
    this.render();
  }

  private async poll(): Promise<void> {
    const { client } = this.options;
    const [status, notices] = await Promise.allSettled([client.status(), client.notices()]);
    // Report the moment the agent stops answering, not every poll while it stays down.
    if (status.status === 'rejected' && this.reachable) this.report(status.reason);
    this.reachable = status.status === 'fulfilled';
    this.lastStatus = status.status === 'fulfilled' ? status.value : undefined;
    this.render();
    if (notices.status === 'fulfilled') this.announce(notices.value);
  }

  private render(): void {
    const model = this.model();
    const serialized = JSON.stringify(model);
    if (serialized === this.lastRendered) return;
    this.lastRendered = serialized;
    try {
      this.options.shell.render(model);
    } catch (err) {
      this.report(err);
    }
  }

  private announce(notices: Notice[]): void {
    for (const notification of this.planner.plan(notices, this.now())) {
      try {
        this.options.shell.notify(notification);
      } catch (err) {
        this.report(err);
      }
    }
  }

  model(): TrayModel {
    const session = this.options.session();
    const auditQueue = this.options.auditQueue?.();
    return trayModel({
      status: this.lastStatus,
      reachable: this.reachable,
      signedIn: session.signedIn,
      signInAvailable: session.signInAvailable,
      ...(session.user !== undefined ? { user: session.user } : {}),
      ...(auditQueue ? { auditQueue } : {}),
      pauseAllowed: this.options.pauseAllowed?.() ?? false,
    });
  }

  private report(err: unknown): void {
    this.options.onError?.(err);
  }
}
