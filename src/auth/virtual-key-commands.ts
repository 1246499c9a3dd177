import type { CommandOutput } from './commands.js';
import { EXIT_FAILED, EXIT_NOT_CONFIGURED, EXIT_OK } from './exit-codes.js';
import type { TokenStoreDescription } from './token-store.js';
import { maskVirtualKey, virtualKeyShapeProblem } from './virtual-key-shape.js';
import type { SavedVirtualKey, VirtualKeyStore } from './virtual-key-store.js';

/**
 * `bifrost-edge login --virtual-key` and the virtual-key parts of `logout` and `whoami`: for people
 * without an account at the company's identity provider (contractors), who sign in with the
 * virtual key an admin gave them, where Edge Control allows it. The running agent enrolls with it.
 */

export interface VirtualKeyLoginDependencies {
  /** `control.url` from the configuration; undefined when this device has no Edge Control. */
  controlUrl: string | undefined;
  /** Created only once Edge Control said yes, so a refused sign-in touches no keychain. */
  store: () => Promise<VirtualKeyStore>;
  /** The enrollment methods Edge Control accepts (GET /enroll/methods). */
  offeredMethods: (controlUrl: string) => Promise<readonly string[]>;
  /** Reads the key from the person (hidden prompt, or the first line of piped input). */
  readKey: () => Promise<string>;
  output: CommandOutput;
}

export async function runVirtualKeyLoginCommand(deps: VirtualKeyLoginDependencies): Promise<number> {
  const { controlUrl, output } = deps;
  if (!controlUrl) {
    output.err('Signing in with a virtual key needs Edge Control, and this device has none configured (control.url in the Bifrost Edge configuration). Ask your admin to set it up, or use `bifrost-edge login` to sign in with your company account.');
    return EXIT_NOT_CONFIGURED;
  }
  let methods: readonly string[];
  try {
    methods = await deps.offeredMethods(controlUrl);
  } catch (error) {
    output.err(`Could not ask Edge Control which sign-ins it allows: ${errorMessage(error)}. Check your network connection and try again.`);
    return EXIT_FAILED;
  }
  if (!methods.includes('virtual_key')) {
    const instead = methods.includes('oidc')
      ? 'Sign in with your company account instead: `bifrost-edge login`. If you have no company account, ask your admin to allow virtual-key sign-in.'
      : 'Ask your admin to allow virtual-key sign-in (allow_virtual_key_enrollment in the Edge Control configuration) or to set up company sign-in.';
    output.err(`Edge Control at ${controlUrl} does not allow signing in with a virtual key. ${instead}`);
    return EXIT_FAILED;
  }

  let key: string;
  try {
    key = await deps.readKey();
  } catch (error) {
    output.err(errorMessage(error));
    return EXIT_FAILED;
  }
  const problem = virtualKeyShapeProblem(key);
  if (problem) {
    output.err(`${problem} Nothing was saved.`);
    return EXIT_FAILED;
  }

  let store: VirtualKeyStore;
  try {
    store = await deps.store();
    await store.save({ virtualKey: key, controlUrl });
  } catch (error) {
    output.err(`Could not save the virtual key: ${errorMessage(error)}`);
    return EXIT_FAILED;
  }
  const storage = store.describe();
  output.out(`Signed in to Bifrost Edge with a virtual key ${maskVirtualKey(key)}.`);
  output.out(`  edge control: ${controlUrl} (checks the key when the Bifrost Edge agent enrolls this device; \`bifrost-edge status\` shows the result)`);
  output.out(`  stored in:    ${storage.backend} — ${storage.location}`);
  if (storage.warning) output.err(`Warning: ${storage.warning}`);
  return EXIT_OK;
}

export type ForgetOutcome = { status: 'none' } | { status: 'deleted'; masked: string } | { status: 'failed'; message: string };

/** `logout`: deletes the saved key (even one that can no longer be read). */
export async function forgetVirtualKey(store: VirtualKeyStore): Promise<ForgetOutcome> {
  const saved = await store.load().catch(() => undefined);
  try {
    await store.clear();
  } catch (error) {
    return { status: 'failed', message: `Could not delete the saved virtual key: ${errorMessage(error)}` };
  }
  return saved ? { status: 'deleted', masked: maskVirtualKey(saved.virtualKey) } : { status: 'none' };
}

/**
 * `whoami` when nobody is signed in with OIDC: shows the saved virtual key, masked. Returns the exit
 * code, or undefined when there is no saved key (the caller says "not signed in").
 */
export async function showVirtualKeySignIn(
  store: VirtualKeyStore,
  output: CommandOutput,
  options: { json?: boolean; /** `control.url` now configured: a key saved for another server is not used. */ controlUrl?: string } = {},
): Promise<number | undefined> {
  let saved: SavedVirtualKey | undefined;
  try {
    saved = await store.load();
  } catch (error) {
    if (options.json) output.out(JSON.stringify({ signedIn: false, error: errorMessage(error) }));
    output.err(errorMessage(error));
    return EXIT_FAILED;
  }
  if (!saved) return undefined;
  const masked = maskVirtualKey(saved.virtualKey);
  if (saved.controlUrl !== options.controlUrl) {
    if (options.json) output.out(JSON.stringify({ signedIn: false }));
    const now = options.controlUrl ? `this device now uses ${options.controlUrl}` : 'this device no longer uses Edge Control';
    output.err(`The saved virtual key ${masked} is for Edge Control at ${saved.controlUrl}, but ${now}, so it is not used. Run \`bifrost-edge login --virtual-key\` again, or \`bifrost-edge logout\` to delete it.`);
    return EXIT_FAILED;
  }
  const storage = store.describe();
  if (options.json) {
    output.out(JSON.stringify({ signedIn: true, method: 'virtual_key', virtualKey: masked, controlUrl: saved.controlUrl, savedAt: saved.savedAt, storage: storageJson(storage) }));
    return EXIT_OK;
  }
  output.out(`Signed in to Bifrost Edge with a virtual key ${masked}.`);
  output.out(`  edge control: ${saved.controlUrl}`);
  output.out(`  since:        ${saved.savedAt}`);
  output.out(`  stored in:    ${storage.backend} — ${storage.location}`);
  if (storage.warning) output.err(`Warning: ${storage.warning}`);
  return EXIT_OK;
}

function storageJson(storage: TokenStoreDescription) {
  return { backend: storage.backend, location: storage.location, ...(storage.warning ? { warning: storage.warning } : {}) };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
