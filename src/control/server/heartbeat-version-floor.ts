import type { DeviceRecord, StoredBundle } from './control-store.js';
import { reportedVersionProblem } from './enrollment-version-floor.js';
import type { ServerContext } from './server-context.js';

/**
 * A device reporting (in its heartbeat) a policy version above the latest this server issued it
 * enforces a bundle the server has forgotten: the database was restored from a backup, or replaced,
 * after the bundle was issued. Every bundle numbered from the server's latest would be refused as a
 * replay until the versions caught up, so the device's floor is raised to the reported version and
 * its bundle is published above it at once. The report is bounded like the one at enrollment.
 * Returns the bundle to announce in the heartbeat answer.
 */
export async function catchUpWithReportedVersion(ctx: ServerContext, device: DeviceRecord, reported: number, latest: StoredBundle): Promise<StoredBundle> {
  if (reported <= latest.version) return latest;
  const problem = reportedVersionProblem(reported, await ctx.store.highestBundleVersion());
  if (problem) {
    ctx.log.warn(`ignoring the policy version in a device's heartbeat: ${problem}`, { device_id: device.device_id, subject: device.subject.sub });
    return latest;
  }
  ctx.log.warn('a device enforces a newer policy version than this control server issued it (was the database restored from a backup?); publishing its bundle above that version', {
    device_id: device.device_id, subject: device.subject.sub, reported, latest: latest.version,
  });
  await ctx.store.raisePolicyVersionFloor(device.device_id, reported);
  return (await ctx.publisher.publishFor({ ...device, policy_version_floor: Math.max(reported, device.policy_version_floor ?? 0) })) ?? latest;
}
