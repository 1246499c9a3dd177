import { attributeApp, compileAppCatalog, decideRequest } from '../../../src/policy/index.js';
import type { PolicyBundle } from '../../../src/control/protocol/policy-bundle.js';

/**
 * What the device's policy engine (src/policy) decides for an OpenAI chat request from `userAgent`
 * under `bundle`: lets sync tests show that a delivered bundle changes what is allowed.
 */
export function decisionFor(bundle: PolicyBundle, model: string, userAgent = 'curl/8.5.0'): 'allow' | 'block' {
  const app = attributeApp({ host: 'api.openai.com', path: '/v1/chat/completions', userAgent }, compileAppCatalog(bundle.apps.catalog));
  return decideRequest({
    request: { provider: 'openai', adapter: 'openai-compatible', operation: 'chat.completions', model, stream: false, texts: [], tools: [], inspected: true },
    bundle,
    app,
    counters: new Map(),
    now: new Date(),
    signedIn: true,
    controlPlaneReachable: true,
  }).action;
}
