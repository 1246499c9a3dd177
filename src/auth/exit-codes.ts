/** Exit codes of the sign-in commands: 0 done, 1 failed / not signed in, 2 sign-in not configured. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_NOT_CONFIGURED = 2;
