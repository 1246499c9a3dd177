import type { DeviceRecord } from './control-store.js';

/**
 * The devices whose installation enrolled again after they were last heard from: rows a re-enrolling
 * agent left behind (another person signed in, its credential was lost or refused, it missed a key
 * rotation). Nothing uses them any more, so they must not count as devices still to update, or the
 * rotation gauge could never reach "N of N".
 *
 * A row heard from after the newer enrollment stays: copies of one installation (a cloned VM image)
 * share the id and all stay in use. The installation id is the device's own claim, so this only
 * decides what the gauge counts, never who may call: a row wrongly left out belongs to a device that
 * has been silent since, and such a device re-enrolls by itself if it misses a rotation.
 */
export function supersededDevices(devices: readonly DeviceRecord[]): Set<string> {
  const byInstallation = new Map<string, DeviceRecord[]>();
  for (const device of devices) {
    if (device.installation_id === undefined) continue;
    const group = byInstallation.get(device.installation_id) ?? [];
    group.push(device);
    byInstallation.set(device.installation_id, group);
  }
  const superseded = new Set<string>();
  for (const group of byInstallation.values()) {
    for (const older of group) {
      const enrolled = Date.parse(older.enrolled_at);
      const lastHeard = Date.parse(older.last_seen_at ?? older.enrolled_at);
      const replaced = group.some((newer) => Date.parse(newer.enrolled_at) > enrolled && Date.parse(newer.enrolled_at) >= lastHeard);
      if (replaced) superseded.add(older.device_id);
    }
  }
  return superseded;
}
