/**
 * Employee sign-in (OIDC, RFC 8252) and token storage. The agent, CLI and Electron shell use this
 * surface; the modules behind it each do one job.
 */
export { AuthConfigSchema, AuthConfigError, parseAuthConfig, DEFAULT_SCOPES, type AuthConfig, type AuthConfigInput } from './auth-config.js';
export { AuthError, isAuthError, type AuthErrorCode } from './auth-error.js';
export type { Identity } from './identity.js';
export { discoverProvider } from './provider-discovery.js';
export { login, createAuthorizationRequest, redeemAuthorizationResponse, type LoginOptions, type AuthorizationRequest } from './oidc-login.js';
export { openSystemBrowser, type OpenBrowser } from './system-browser.js';
export {
  SessionManager,
  type AuthSession,
  type SessionEvents,
  type RefreshFailure,
  type SignedOut,
  type SignInOptions,
  type SignInResult,
  type SessionManagerOptions,
} from './session.js';
export type { SessionTokens } from './session-tokens.js';
export type { RevocationOutcome } from './token-grants.js';
export { TokenStoreError, type TokenStore, type TokenStoreBackend, type TokenStoreDescription } from './token-store.js';
export { createTokenStore, authDirectory, type CreateTokenStoreOptions } from './create-token-store.js';
export { SafeStorageTokenStore, safeStorageProblem, type SafeStorageLike } from './safe-storage-token-store.js';
export { EncryptedFileTokenStore, KEY_FILE_WARNING } from './encrypted-file-token-store.js';
export { KeyFileSource, MacKeychainKeySource, SecretServiceKeySource, type EncryptionKeySource } from './encryption-keys.js';
export {
  runLoginCommand,
  runLogoutCommand,
  runWhoamiCommand,
  EXIT_OK,
  EXIT_FAILED,
  EXIT_NOT_CONFIGURED,
  type AuthCommandDependencies,
  type CommandOutput,
  type WhoamiOptions,
} from './commands.js';
export { createVirtualKeyStore, VIRTUAL_KEY_TOKEN_TYPE, type SavedVirtualKey, type VirtualKeyStore } from './virtual-key-store.js';
export { maskVirtualKey, virtualKeyShapeProblem } from './virtual-key-shape.js';
export { runVirtualKeyLoginCommand, type VirtualKeyLoginDependencies } from './virtual-key-commands.js';
export { chooseProtectedTokenStore, type ProtectedSecretLayout } from './protected-token-store.js';
