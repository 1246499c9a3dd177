import { z } from 'zod';
import {
  AdminAuditQuerySchema, AdminAuditResponseSchema, AdminDeviceSchema, AdminDevicesResponseSchema, AdminPolicyResponseSchema,
  PolicyTemplateSchema, StoredAuditRecordSchema,
} from './admin.js';
import { AdminRetireSigningKeyRequestSchema, AdminSigningKeySchema, AdminSigningKeysResponseSchema } from './admin-signing-keys.js';
import { AdminAuditChainEventsQuerySchema, AdminAuditChainEventsResponseSchema, AuditChainEventSchema } from './audit-chain-events.js';
import { ANNOUNCED_AUDIT_RECORD_FIELDS, AUDIT_DIFFERS_AT_SEQ_HEADER, AuditAckSchema, AuditBatchSchema, AuditChainGapErrorSchema, AuditRecordSchema } from './audit.js';
import { EnrollmentMethodsResponseSchema, EnrollmentRequestSchema, EnrollmentResponseSchema, SigningPublicKeySchema } from './enrollment.js';
import { ControlErrorBodySchema, CONTROL_ERROR_TYPES } from './errors.js';
import { HealthResponseSchema } from './health.js';
import { HeartbeatRequestSchema, HeartbeatResponseSchema, SeenAppSchema, SeenMcpServerSchema } from './heartbeat.js';
import { GATED_BUNDLE_FIELDS } from './bundle-fields.js';
import { AUDIT_RECORD_FIELDS_HEADER, BUNDLE_BINDING_DEVICE, BUNDLE_BINDING_HEADER, BUNDLE_FIELDS_HEADER, EDGE_CONTROL_BASE_PATH, EdgeControlPaths, IDEMPOTENCY_KEY_HEADER, POLICY_EVENT_NAME } from './paths.js';
import { AppCatalogEntrySchema, BundleSignatureSchema, PolicyBundleSchema, SignedPolicyBundleSchema } from './policy-bundle.js';
import { POLICY_STREAM_HEARTBEAT_SECONDS, PolicyEventSchema } from './policy-sync.js';
import { BudgetSchema, McpConfigSchema, ProviderConfigSchema, RateLimitSchema, VirtualKeySchema } from './virtual-key.js';

/**
 * The Edge Control OpenAPI document, generated from the same zod schemas the server and the device
 * use, so the published contract cannot drift from the code. docs/edge-control-openapi.json is this
 * function's output (a test checks); regenerate it with write-openapi.ts after changing a schema.
 */

type Json = Record<string, unknown>;

/** Response bodies: described as parsed (defaults filled in). */
const RESPONSE_COMPONENTS: Array<[string, z.ZodType]> = [
  ['ControlError', ControlErrorBodySchema],
  ['EnrollmentResponse', EnrollmentResponseSchema],
  ['EnrollmentMethodsResponse', EnrollmentMethodsResponseSchema],
  ['SigningPublicKey', SigningPublicKeySchema],
  ['SignedPolicyBundle', SignedPolicyBundleSchema],
  ['PolicyBundle', PolicyBundleSchema],
  ['BundleSignature', BundleSignatureSchema],
  ['AppCatalogEntry', AppCatalogEntrySchema],
  ['VirtualKey', VirtualKeySchema],
  ['ProviderConfig', ProviderConfigSchema],
  ['McpConfig', McpConfigSchema],
  ['Budget', BudgetSchema],
  ['RateLimit', RateLimitSchema],
  ['PolicyEvent', PolicyEventSchema],
  ['AuditAck', AuditAckSchema],
  ['AuditChainGapError', AuditChainGapErrorSchema],
  ['HeartbeatResponse', HeartbeatResponseSchema],
  ['AdminPolicyResponse', AdminPolicyResponseSchema],
  ['PolicyTemplate', PolicyTemplateSchema],
  ['AdminDevicesResponse', AdminDevicesResponseSchema],
  ['AdminDevice', AdminDeviceSchema],
  ['SeenApp', SeenAppSchema],
  ['SeenMcpServer', SeenMcpServerSchema],
  ['AdminAuditResponse', AdminAuditResponseSchema],
  ['StoredAuditRecord', StoredAuditRecordSchema],
  ['AuditRecord', AuditRecordSchema],
  ['AdminAuditChainEventsResponse', AdminAuditChainEventsResponseSchema],
  ['AuditChainEvent', AuditChainEventSchema],
  ['AdminSigningKeysResponse', AdminSigningKeysResponseSchema],
  ['AdminSigningKey', AdminSigningKeySchema],
  ['HealthResponse', HealthResponseSchema],
];

/** Request bodies: described as accepted (fields with defaults are optional). */
const REQUEST_COMPONENTS: Array<[string, z.ZodType]> = [
  ['EnrollmentRequest', EnrollmentRequestSchema],
  ['AuditBatch', AuditBatchSchema],
  ['HeartbeatRequest', HeartbeatRequestSchema],
  ['PolicyTemplateInput', PolicyTemplateSchema],
  ['AdminRetireSigningKeyRequest', AdminRetireSigningKeyRequestSchema],
];

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string): Json => ({ 'application/json': { schema: ref(name) } });

function errorResponse(description: string): Json {
  return { description, content: json('ControlError') };
}

function componentSchemas(entries: Array<[string, z.ZodType]>, io: 'input' | 'output'): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of entries) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: 'any', target: 'draft-2020-12' });
  const out: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(generated.schemas)) {
    const { $schema: _schema, $id: _id, ...rest } = schema as Json;
    out[id] = rest;
  }
  return out;
}

const deviceAuth = [{ DeviceCredential: [] }];
const adminAuth = [{ AdminToken: [] }];

export function buildOpenApiDocument(): Json {
  const unauthorized = errorResponse('Missing or unknown credential.');
  const paths: Record<string, Json> = {
    [EdgeControlPaths.enroll]: {
      post: {
        operationId: 'enrollDevice',
        summary: 'Enroll a device',
        description: 'The device presents an OIDC ID token or JWT access token (verified against the issuer\'s JWKS: signature, issuer, audience, expiry) '
          + 'or, when the server allows it, a Bifrost virtual key the gateway knows. The answer carries the device id, a device credential '
          + '(shown once; the server stores only its SHA-256) and the public keys that sign policy bundles.',
        tags: ['Device'],
        parameters: [bundleBindingParameter(), bundleFieldsParameter()],
        requestBody: { required: true, content: json('EnrollmentRequest') },
        responses: {
          201: { description: 'Enrolled.', content: json('EnrollmentResponse') },
          400: errorResponse('Malformed request.'),
          401: errorResponse('Token or virtual key refused: token_expired, token_audience_mismatch, token_issuer_untrusted, token_signature_invalid, token_unsigned, token_malformed, virtual_key_not_found.'),
          403: errorResponse('Method not allowed here: virtual_key_enrollment_disabled, virtual_key_inactive, or no identity provider configured.'),
          503: errorResponse('identity_provider_unreachable or gateway_unavailable: retry later.'),
        },
      },
    },
    [EdgeControlPaths.enrollMethods]: {
      get: {
        operationId: 'listEnrollmentMethods',
        summary: 'Which enrollment methods this server accepts',
        description: '`oidc` when identity providers are configured (oidc.issuers), `virtual_key` when the admin allows enrolling with a virtual key '
          + '(allow_virtual_key_enrollment); an empty list when neither. Devices ask before offering a sign-in, e.g. `bifrost-edge login --virtual-key`. '
          + 'Clients ignore methods they do not know.',
        tags: ['Device'],
        responses: { 200: { description: 'The accepted methods.', content: json('EnrollmentMethodsResponse') } },
      },
    },
    [EdgeControlPaths.policy]: {
      get: {
        operationId: 'getPolicy',
        summary: 'Get the device\'s signed policy bundle',
        description: 'Ed25519 signature over the canonical JSON of `bundle` (keys sorted, no whitespace), by the key named in `signature.key_id`. '
          + 'The ETag is the quoted SHA-256 of the same bytes. Versions only go up; a device refuses older versions and same-version bundles with other content. '
          + '`bundle.signing_keys` is the set of keys the device trusts from then on (key rotation): announced inside the signed bundle, so it carries the authority of a key the device already trusts. '
          + 'A device without pinned keys replaces its trusted set with it; a bundle whose set leaves out its own signer is refused. '
          + 'A device that receives a bundle signed by a key it does not trust (it missed a whole rotation) enrolls again to learn the current keys. '
          + '`bundle.device_id` names the device the bundle was issued for (only for devices that send the bundle-binding header); a device refuses a bundle naming another device.',
        tags: ['Device'],
        security: deviceAuth,
        parameters: [{ name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'ETag of the bundle the device has.' }, bundleBindingParameter(), bundleFieldsParameter()],
        responses: {
          200: { description: 'The latest bundle.', headers: { ETag: { schema: { type: 'string' } } }, content: json('SignedPolicyBundle') },
          304: { description: 'The device already has the latest bundle.', headers: { ETag: { schema: { type: 'string' } } } },
          401: unauthorized,
          503: errorResponse('policy_not_ready: the server has not read the gateway\'s virtual keys yet; keep the current policy and retry.'),
        },
      },
    },
    [EdgeControlPaths.policyStream]: {
      get: {
        operationId: 'streamPolicyEvents',
        summary: 'Push stream of new bundle versions (Server-Sent Events)',
        description: `\`event: ${POLICY_EVENT_NAME}\` with \`data\` = PolicyEvent JSON whenever a new bundle exists for this device, and once right after the stream opens. `
          + `Comment lines (\`: heartbeat\`) every ${POLICY_STREAM_HEARTBEAT_SECONDS} s. On an event, GET ${EdgeControlPaths.policy} with If-None-Match. `
          + 'Reconnect with exponential backoff and jitter; poll meanwhile (bundle `sync.poll_interval_seconds`, at least 5).',
        tags: ['Device'],
        security: deviceAuth,
        responses: {
          200: {
            description: 'An open event stream.',
            content: { 'text/event-stream': { schema: { type: 'string', description: 'SSE; each event\'s data is a PolicyEvent.' } } },
            'x-event-data': ref('PolicyEvent'),
          },
          401: unauthorized,
        },
      },
    },
    [EdgeControlPaths.auditBatches]: {
      post: {
        operationId: 'uploadAuditBatch',
        summary: 'Upload a batch of chained audit records',
        description: 'hash_i = hex(SHA-256(utf8(prev_hash_i) ‖ utf8(canonicalJson(record_i)))) over each record as sent. '
          + 'The same batch sent again (same Idempotency-Key and content) is acknowledged with duplicate=true and stored once. '
          + 'A batch must continue the device\'s stored chain: its first record\'s prev_hash must be the stored head.',
        tags: ['Device'],
        security: deviceAuth,
        parameters: [{ name: IDEMPOTENCY_KEY_HEADER, in: 'header', required: true, schema: { type: 'string' }, description: 'Equal to the body\'s batch_id.' }],
        requestBody: { required: true, content: json('AuditBatch') },
        responses: {
          200: {
            description: 'Stored, or a duplicate of a stored batch.',
            headers: {
              [AUDIT_RECORD_FIELDS_HEADER]: {
                schema: { type: 'string' },
                description: 'The optional record fields added after the first audit format that this server accepts, comma-separated '
                  + `(${ANNOUNCED_AUDIT_RECORD_FIELDS.join(', ')}). A device writes such a field only after a server announced it.`,
              },
            },
            content: json('AuditAck'),
          },
          400: errorResponse('Malformed batch, or idempotency_key_mismatch.'),
          401: unauthorized,
          403: errorResponse('The batch is for another device.'),
          409: {
            description: 'audit_chain_gap: the batch does not continue the stored chain; the message names the missing seqs and '
              + 'error.chain_head where the stored chain ends (the device resends from there, or starts a new chain with chain_id '
              + 'when the server holds a different one). Or idempotency_key_reused (a ControlError).',
            headers: {
              [AUDIT_DIFFERS_AT_SEQ_HEADER]: {
                schema: { type: 'integer', minimum: 1 },
                description: 'Only on audit_chain_gap for a batch that overlaps the stored chain with other records: the batch\'s first seq whose '
                  + 'record the server does not hold as sent; it holds the batch\'s records before it with the same hashes. Always within the '
                  + 'batch (first_seq to last_seq) and at most error.chain_head.seq: a device ignores any other value and treats the answer as '
                  + 'a plain conflict. A header because devices that predate it parse the error body strictly.',
              },
            },
            content: { 'application/json': { schema: { oneOf: [ref('AuditChainGapError'), ref('ControlError')] } } },
          },
          413: errorResponse('payload_too_large: send smaller batches.'),
          422: errorResponse('audit_batch_invalid: the batch is not a consistent hash chain.'),
        },
      },
    },
    [EdgeControlPaths.heartbeat]: {
      post: {
        operationId: 'postHeartbeat',
        summary: 'Heartbeat and inventory',
        tags: ['Device'],
        security: deviceAuth,
        requestBody: { required: true, content: json('HeartbeatRequest') },
        responses: { 200: { description: 'Recorded; carries the latest bundle version.', content: json('HeartbeatResponse') }, 400: errorResponse('Malformed heartbeat.'), 401: unauthorized },
      },
    },
    [EdgeControlPaths.adminPolicy]: {
      get: {
        operationId: 'getPolicyTemplate',
        summary: 'Get the Edge policy template',
        tags: ['Admin'],
        security: adminAuth,
        responses: { 200: { description: 'The current template.', content: json('AdminPolicyResponse') }, 401: unauthorized, 403: errorResponse('Wrong admin token.') },
      },
      put: {
        operationId: 'putPolicyTemplate',
        summary: 'Replace the Edge policy template',
        description: 'Every device whose bundle changes gets a new version, announced on its push stream at once.',
        tags: ['Admin'],
        security: adminAuth,
        requestBody: { required: true, content: json('PolicyTemplateInput') },
        responses: { 200: { description: 'Saved and republished.', content: json('AdminPolicyResponse') }, 400: errorResponse('Invalid template.'), 401: unauthorized, 403: errorResponse('Wrong admin token.') },
      },
    },
    [EdgeControlPaths.adminDevices]: {
      get: {
        operationId: 'listDevices',
        summary: 'List enrolled devices',
        tags: ['Admin'],
        security: adminAuth,
        responses: { 200: { description: 'Devices with inventory and policy versions.', content: json('AdminDevicesResponse') }, 401: unauthorized, 403: errorResponse('Wrong admin token.') },
      },
    },
    [EdgeControlPaths.adminAudit]: {
      get: {
        operationId: 'listAuditRecords',
        summary: 'Read stored audit records',
        tags: ['Admin'],
        security: adminAuth,
        parameters: queryParameters(AdminAuditQuerySchema),
        responses: { 200: { description: 'A page of records in arrival order.', content: json('AdminAuditResponse') }, 400: errorResponse('Bad query.'), 401: unauthorized, 403: errorResponse('Wrong admin token.') },
      },
    },
    [EdgeControlPaths.adminAuditChainEvents]: {
      get: {
        operationId: 'listAuditChainEvents',
        summary: 'Read the new audit chains, forks and enrollment continuations of devices',
        description: 'When a device starts a new audit chain (its audit database was replaced or reverted, or this server lacks records it pruned), '
          + 'the server compares it with every chain it holds for the device and stores the event with the batch, in the same transaction: '
          + 'the message names, per chain, the seqs held as sent, where other records are held (`differs from chain Y at seq N`) and the seqs '
          + 'no chain holds; `details` carries the same as fields (`held_by`, `differs_from`, …). Also a device enrolled again whose chain '
          + 'continues the one it uploaded under its earlier enrollment (`enrollment_continued`). In arrival order, paged like the audit records. '
          + 'A coalesced event (`details.coalesced: true`) is replaced whenever it counts one more chain: the new count comes under a new id '
          + 'after every other event, with the same `created_at` and `details.replaces` naming the id it replaces (no longer listed), so a '
          + 'client paging with `after` reads every count. `details.first_id` is the id of the event that opened the stretch, the same in '
          + 'every replacement (the opening event has none: it is that id): `details.first_id ?? id` identifies one stretch across them.',
        tags: ['Admin'],
        security: adminAuth,
        parameters: queryParameters(AdminAuditChainEventsQuerySchema),
        responses: { 200: { description: 'A page of events in arrival order.', content: json('AdminAuditChainEventsResponse') }, 400: errorResponse('Bad query.'), 401: unauthorized, 403: errorResponse('Wrong admin token.') },
      },
    },
    [EdgeControlPaths.adminSigningKeys]: {
      get: {
        operationId: 'listSigningKeys',
        summary: 'List the bundle-signing key ring',
        description: 'Keys with their status (active signs; next is announced; previous is still trusted; retired is no longer announced and its private key is deleted), '
          + 'and how many devices enforce a bundle that announces the current key set (promote or retire when that reaches the total).',
        tags: ['Admin'],
        security: adminAuth,
        responses: { 200: { description: 'The key ring.', content: json('AdminSigningKeysResponse') }, 401: unauthorized, 403: errorResponse('Wrong admin token.') },
      },
    },
    [EdgeControlPaths.adminSigningKeysRotate]: {
      post: {
        operationId: 'rotateSigningKey',
        summary: 'Start a key rotation: generate the next key and announce it',
        description: 'Every device gets a new bundle version whose signing_keys include the new key; it signs nothing yet.',
        tags: ['Admin'],
        security: adminAuth,
        responses: { 200: { description: 'Announced and republished.', content: json('AdminSigningKeysResponse') }, 401: unauthorized, 403: errorResponse('Wrong admin token.'), 409: errorResponse('signing_key_conflict: a next key is already announced.') },
      },
    },
    [EdgeControlPaths.adminSigningKeysPromote]: {
      post: {
        operationId: 'promoteSigningKey',
        summary: 'Sign with the announced key from now on',
        description: 'The next key becomes active and every device gets a bundle signed by it; the key it replaces stays trusted (previous) until retired.',
        tags: ['Admin'],
        security: adminAuth,
        responses: { 200: { description: 'Promoted and republished.', content: json('AdminSigningKeysResponse') }, 401: unauthorized, 403: errorResponse('Wrong admin token.'), 409: errorResponse('signing_key_conflict: no next key is announced.') },
      },
    },
    [EdgeControlPaths.adminSigningKeysRetire]: {
      post: {
        operationId: 'retireSigningKey',
        summary: 'Stop trusting a key and delete its private key',
        description: 'Default: the previous key. Devices drop it from their trusted set with their next bundle; a bundle it signs is refused from then on.',
        tags: ['Admin'],
        security: adminAuth,
        requestBody: { required: true, content: json('AdminRetireSigningKeyRequest') },
        responses: {
          200: { description: 'Retired and republished.', content: json('AdminSigningKeysResponse') },
          400: errorResponse('Malformed request.'),
          401: unauthorized,
          403: errorResponse('Wrong admin token.'),
          404: errorResponse('not_found: no key with that id.'),
          409: errorResponse('signing_key_conflict: the key is active or already retired, or no single previous key exists.'),
        },
      },
    },
    [EdgeControlPaths.health]: {
      get: {
        operationId: 'health',
        summary: 'Liveness',
        tags: ['Operations'],
        responses: { 200: { description: 'Server status.', content: json('HealthResponse') } },
      },
    },
  };

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Bifrost Edge Control',
      version: EDGE_CONTROL_BASE_PATH.split('/').pop(),
      description: 'Open protocol between Bifrost Edge devices and an Edge Control server running next to a Bifrost gateway: '
        + 'device enrollment, signed policy bundles with push, audit upload and heartbeats. '
        + `Errors are {"error":{"type","message"}}; known types: ${CONTROL_ERROR_TYPES.join(', ')}. Generated from src/control/protocol.`,
      license: { name: 'Apache-2.0' },
    },
    tags: [
      { name: 'Device', description: 'Called by Edge devices (device credential from enrollment as Bearer).' },
      { name: 'Admin', description: 'Called by administrators (admin token from the server config as Bearer).' },
      { name: 'Operations' },
    ],
    paths,
    components: {
      securitySchemes: {
        DeviceCredential: { type: 'http', scheme: 'bearer', description: 'device_credential from POST /api/edge/v1/enroll.' },
        AdminToken: { type: 'http', scheme: 'bearer', description: 'admin_token from the control server config.' },
      },
      schemas: { ...componentSchemas(RESPONSE_COMPONENTS, 'output'), ...componentSchemas(REQUEST_COMPONENTS, 'input') },
    },
  };
}

/** An admin GET's query parameters, all optional, with the bounds and defaults of its zod schema. */
function queryParameters(query: z.ZodType): Json[] {
  const schema = z.toJSONSchema(query, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as { properties: Record<string, Json> };
  // A field's description (zod .describe()) is the parameter's, where OpenAPI readers look for it.
  return Object.entries(schema.properties).map(([name, { description, ...s }]) => ({ name, in: 'query', required: false, ...(description === undefined ? {} : { description }), schema: s }));
}

/** The committed file's exact text. */
export function renderOpenApiDocument(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

/** The header by which a device names the optional bundle fields it understands (see bundle-fields.ts). */
function bundleFieldsParameter(): Json {
  return {
    name: BUNDLE_FIELDS_HEADER, in: 'header', required: false, schema: { type: 'string', example: GATED_BUNDLE_FIELDS.join(',') },
    description: `Comma-separated optional bundle fields this device understands (${GATED_BUNDLE_FIELDS.map((f) => `\`${f}\``).join(', ')}). The server leaves the others out of its bundles: an agent that predates a field refuses every bundle carrying it. Names the server does not gate are ignored.`,
  };
}

/** The header by which a device asks for bundles that name it (see BUNDLE_BINDING_HEADER). */
function bundleBindingParameter(): Json {
  return {
    name: BUNDLE_BINDING_HEADER, in: 'header', required: false, schema: { type: 'string', enum: [BUNDLE_BINDING_DEVICE] },
    description: `\`${BUNDLE_BINDING_DEVICE}\`: this device refuses bundles naming another device, so put its id in \`bundle.device_id\` from now on. Devices that do not send it get bundles without \`device_id\`.`,
  };
}
