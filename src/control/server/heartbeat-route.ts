import { HeartbeatRequestSchema, type HeartbeatResponse } from '../protocol/heartbeat.js';
import { mergeSeenApps, mergeSeenMcpServers } from './device-inventory.js';
import { catchUpWithReportedVersion } from './heartbeat-version-floor.js';
import { parseWire, readJsonBody, sendJson } from './http-io.js';
import { authenticateDevice, type RouteHandler } from './server-context.js';
import type { DeviceHeartbeatUpdate } from './control-store.js';

/** POST /api/edge/v1/heartbeat: liveness, versions and what the device saw; answers the latest policy version. */
export const heartbeatRoute: RouteHandler = async (ctx, req, res) => {
  const device = await authenticateDevice(ctx, req);
  const heartbeat = parseWire(HeartbeatRequestSchema, await readJsonBody(req, 1024 * 1024), 'heartbeat');
  const receivedAt = ctx.now().toISOString();
  const update: DeviceHeartbeatUpdate = {
    last_seen_at: receivedAt,
    agent_version: heartbeat.agent_version,
    apps_seen: mergeSeenApps(device.apps_seen, heartbeat.apps_seen),
    mcp_servers_seen: mergeSeenMcpServers(device.mcp_servers_seen, heartbeat.mcp_servers_seen),
  };
  if (heartbeat.os !== undefined) update.os = heartbeat.os;
  if (heartbeat.policy_version !== undefined) update.reported_policy_version = heartbeat.policy_version;
  await ctx.store.updateDeviceHeartbeat(device.device_id, update);
  let latest = await ctx.store.latestBundle(device.device_id);
  if (latest && heartbeat.policy_version !== undefined) latest = await catchUpWithReportedVersion(ctx, device, heartbeat.policy_version, latest);
  const response: HeartbeatResponse = { received_at: receivedAt };
  if (latest) response.policy = { version: latest.version, etag: latest.etag };
  sendJson(res, 200, response);
};
