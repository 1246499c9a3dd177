/**
 * How far above the highest bundle version this server ever issued a re-enrolling device's reported
 * version may be. A device is legitimately ahead only when the server lost bundles it had issued (its
 * database was restored from a backup, or replaced): then the device is ahead by the changes made
 * since, a few per admin edit or key rotation, so ten thousand leaves plenty of room. Without a bound,
 * anyone allowed to enroll could report 2^53-1 and make the device's next version unrepresentable.
 */
export const MAX_VERSION_LEAD = 10_000;

/**
 * Why the `policy_version` an enrolling device reports cannot become its version floor, or undefined
 * when it can. `highestIssued` is the highest bundle version this server stored for any device.
 */
export function reportedVersionProblem(reported: number, highestIssued: number): string | undefined {
  const limit = highestIssued + MAX_VERSION_LEAD;
  if (reported <= limit) return undefined;
  return `this device reports enforcing policy version ${reported}, but the highest version this control server has issued is ${highestIssued} `
    + `(it accepts at most ${limit}, to allow for a database restored from a backup); delete the device's cached policy (policy-bundle.json in its control state folder) and enroll again, `
    + 'or ask the admin whether the control server\'s database was replaced by a much older one';
}
