/** The tray's decisions, free of Electron: main/ turns these into a Tray, menus, notifications and windows. */
export type { AgentStatus, AuditQueueSignal } from './agent-status.js';
export { trayModel, MAX_TOOLTIP_LENGTH, type TrayModel, type TrayModelInput, type TrayIcon, type TrayAction, type MenuItemModel } from './tray-model.js';
export { assessHealth, type HealthIssue, type Severity } from './tray-health.js';
export { noticeToNotification, MAX_BODY_LENGTH, type NotificationText } from './notifications.js';
export { NotificationPlanner, type PlannedNotification, type NotificationPlannerOptions } from './notification-planner.js';
export { createAgentClient, AgentUnreachableError, type AgentClient } from './agent-client.js';
export { TrayController, type TrayShell, type SessionView, type TrayControllerOptions } from './tray-controller.js';
export { trayIconPng, drawTrayIcon, ICON_COLORS } from './tray-icon.js';
export { encodePng } from './png.js';
export { loadDesktopConfig, machineConfigPath, CONFIG_ENV, type LoadedConfig } from './managed-config.js';
export { pageUrl, isAgentPage, PAGE_WINDOWS, type PageName, type PageWindow } from './pages.js';
export { startErrorSummary, describeStartFailure } from './start-error.js';
export { probePort } from '../util/port-probe.js';
