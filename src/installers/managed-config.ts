/**
 * Where IT's managed Edge configuration lands on each platform. The generators write these places;
 * the agent reads them (see README "Managed configuration"). One JSON object — the same one
 * `bifrost-edge run --config` takes — so a setting means the same thing everywhere.
 */

/** macOS managed-preferences domain: the profile's com.apple.ManagedClient.preferences payload forces it. */
export const MANAGED_PREFERENCES_DOMAIN = 'com.bifrost.edge';
/** Where macOS materializes the forced preferences for every user (a binary plist; read with plutil). */
export const MACOS_MANAGED_PREFERENCES_PLIST = `/Library/Managed Preferences/${MANAGED_PREFERENCES_DOMAIN}.plist`;

/** Windows policy key (HKLM\SOFTWARE\Policies is writable only by administrators, readable by everyone). */
export const WINDOWS_POLICY_KEY = 'HKLM\\SOFTWARE\\Policies\\Bifrost\\Edge';
/** REG_SZ value under WINDOWS_POLICY_KEY holding the configuration as JSON. */
export const WINDOWS_POLICY_CONFIG_VALUE = 'Config';

/** Linux: a root-owned file the systemd user unit passes to `bifrost-edge run --config`. */
export const LINUX_SYSTEM_CONFIG_FILE = '/etc/bifrost-edge/config.json';
