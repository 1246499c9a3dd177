import type { EnrollmentMethod, EnrollmentMethodsResponse } from '../protocol/enrollment.js';
import { sendJson } from './http-io.js';
import type { RouteHandler, ServerContext } from './server-context.js';

/**
 * The enrollment methods POST /api/edge/v1/enroll would accept, read from the same facts that route
 * checks (configured issuers, allow_virtual_key_enrollment), so the answer cannot promise a method
 * the enrollment then refuses.
 */
export function offeredEnrollmentMethods(ctx: Pick<ServerContext, 'config' | 'verifier'>): EnrollmentMethod[] {
  const methods: EnrollmentMethod[] = [];
  if (ctx.verifier.enabled) methods.push('oidc');
  if (ctx.config.allow_virtual_key_enrollment) methods.push('virtual_key');
  return methods;
}

/** GET /api/edge/v1/enroll/methods (no auth): what a person may sign in with before the device enrolls. */
export const enrollMethodsRoute: RouteHandler = async (ctx, _req, res) => {
  const body: EnrollmentMethodsResponse = { methods: offeredEnrollmentMethods(ctx) };
  sendJson(res, 200, body);
};
