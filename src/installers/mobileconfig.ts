import { X509Certificate } from 'node:crypto';
import { MANAGED_PREFERENCES_DOMAIN } from './managed-config.js';
import { jsonToPlist, renderPlist, type PlistValue } from './plist.js';
import { uuidV5 } from './stable-uuid.js';
import type { InstallerSettings } from './installer-settings.js';

/**
 * macOS configuration profiles for MDM (Jamf, Kandji, Intune, Mosyle…).
 *
 * Edge's CA is made on each device at first run, so no profile built ahead of time can carry it, and
 * one shared org CA would put the same private key on every laptop. So the work is split:
 * - `edgeProfile`: the same for every device — the system proxy pointed at Edge's PAC file and the
 *   Edge configuration as forced managed preferences. Silent through MDM.
 * - per-device CA trust: the package's postinstall script (macos-postinstall.ts) as root; or, with an
 *   MDM that can push per-device payloads, `caTrustProfile` built on the device
 *   (`bifrost-edge installers mobileconfig --with-ca <ca.pem>`) — the only fully silent route on macOS 11+.
 */

export interface EdgeProfileOptions {
  /**
   * Let macOS connect directly when the PAC file cannot be fetched (Edge not running). True keeps the
   * laptop online if Edge is stopped or crashed; false fails closed for *all* web traffic.
   */
  pacFallbackAllowed?: boolean;
}

export interface ProfileFile {
  fileName: string;
  contents: string;
}

export const EDGE_PROFILE_FILE = 'bifrost-edge.mobileconfig';

/** The org-wide profile: proxy auto-configuration + Edge's managed preferences. */
export function edgeProfile(settings: InstallerSettings, options: EdgeProfileOptions = {}): ProfileFile {
  const prefix = settings.identifierPrefix;
  const proxy = withStableUuid({
    PayloadType: 'com.apple.proxy.http.global',
    PayloadVersion: 1,
    PayloadIdentifier: `${prefix}.proxy`,
    PayloadDisplayName: 'Bifrost Edge automatic proxy',
    PayloadDescription: 'Sends AI traffic to the Bifrost Edge proxy on this Mac; the PAC file sends everything else direct.',
    ProxyType: 'Auto',
    ProxyPACURL: settings.pacUrl,
    ProxyPACFallbackAllowed: options.pacFallbackAllowed ?? true,
    // Captive portals (hotel Wi-Fi) must load before any proxy can be reached.
    ProxyCaptiveLoginAllowed: true,
  });
  const preferences = withStableUuid({
    PayloadType: 'com.apple.ManagedClient.preferences',
    PayloadVersion: 1,
    PayloadIdentifier: `${prefix}.preferences`,
    PayloadDisplayName: 'Bifrost Edge configuration',
    PayloadDescription: `Forces Bifrost Edge's configuration (preference domain ${MANAGED_PREFERENCES_DOMAIN}).`,
    PayloadContent: {
      [MANAGED_PREFERENCES_DOMAIN]: { Forced: [{ mcx_preference_settings: jsonToPlist(settings.edgeConfig) }] },
    },
  });
  return {
    fileName: EDGE_PROFILE_FILE,
    contents: renderPlist(
      withStableUuid({
        PayloadType: 'Configuration',
        PayloadVersion: 1,
        PayloadIdentifier: prefix,
        PayloadDisplayName: `${settings.organization}: Bifrost Edge`,
        PayloadDescription: 'Routes AI traffic through Bifrost Edge and sets its configuration.',
        PayloadOrganization: settings.organization,
        PayloadScope: 'System',
        PayloadContent: [proxy, preferences],
      }),
    ),
  };
}

/**
 * A per-device profile that trusts this device's CA (com.apple.security.root). Its identifier does not
 * depend on the certificate, so after a CA renewal the new profile replaces the old one and the old CA
 * stops being trusted.
 */
export function caTrustProfile(caPem: string, settings: InstallerSettings): ProfileFile {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(caPem);
  } catch (error) {
    throw new Error(`the CA file is not a PEM certificate (${(error as Error).message}): pass the path printed by \`bifrost-edge ca path\`.`);
  }
  if (!certificate.ca) throw new Error('the certificate given with --with-ca is not a CA certificate: pass the path printed by `bifrost-edge ca path`.');
  const prefix = `${settings.identifierPrefix}.ca`;
  const root = withStableUuid({
    PayloadType: 'com.apple.security.root',
    PayloadVersion: 1,
    PayloadIdentifier: `${prefix}.certificate`,
    PayloadDisplayName: certificate.subject.split('\n').find((line) => line.startsWith('CN='))?.slice(3) ?? 'Bifrost Edge CA',
    PayloadCertificateFileName: 'bifrost-edge-ca.cer',
    PayloadContent: certificate.raw,
  });
  return {
    fileName: 'bifrost-edge-ca.mobileconfig',
    contents: renderPlist(
      withStableUuid({
        PayloadType: 'Configuration',
        PayloadVersion: 1,
        PayloadIdentifier: prefix,
        PayloadDisplayName: `${settings.organization}: Bifrost Edge device CA`,
        PayloadDescription: `Trusts the Bifrost Edge CA made on this Mac (SHA-256 ${certificate.fingerprint256}) so Edge can inspect AI traffic.`,
        PayloadOrganization: settings.organization,
        PayloadScope: 'System',
        PayloadContent: [root],
      }),
    ),
  };
}

/**
 * Adds PayloadUUID derived from the payload's own content (which includes its identifier and nested
 * payloads' UUIDs): the same input always yields the same UUIDs, a changed input new ones.
 */
function withStableUuid(payload: Record<string, PlistValue>): Record<string, PlistValue> {
  const uuid = uuidV5(`${String(payload.PayloadIdentifier)}\n${JSON.stringify(payload)}`);
  return { ...payload, PayloadUUID: uuid };
}
