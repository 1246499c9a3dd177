/**
 * Optional policy-bundle fields added after agents were first released, which a device gets only once it says it
 * understands them. The bundle schema is strict, so an agent that predates a field refuses every bundle carrying it
 * and keeps enforcing its last one: Edge Control leaves such a field out of the bundles of a device that did not
 * announce it (BUNDLE_FIELDS_HEADER, on POST /enroll and GET /policy). `device_id` has its own older header
 * (BUNDLE_BINDING_HEADER). A field added to the schema after this list must join it.
 */
export const GATED_BUNDLE_FIELDS = ['duration_pricing'] as const;

export type GatedBundleField = (typeof GATED_BUNDLE_FIELDS)[number];

/** What this agent sends in BUNDLE_FIELDS_HEADER: every gated field, since its schema knows them all. */
export const UNDERSTOOD_BUNDLE_FIELDS = GATED_BUNDLE_FIELDS.join(',');

/**
 * The gated fields a device announced in BUNDLE_FIELDS_HEADER (comma-separated, repeated headers joined), in
 * GATED_BUNDLE_FIELDS order. Names this server does not gate are ignored: a newer agent may understand more.
 */
export function announcedBundleFields(header: string | readonly string[] | undefined): GatedBundleField[] {
  const named = new Set((typeof header === 'string' ? [header] : header ?? []).flatMap((h) => h.split(',')).map((name) => name.trim()));
  return GATED_BUNDLE_FIELDS.filter((field) => named.has(field));
}

/** `bundle` without the gated fields the device did not announce (`understood`); everything else as it was. */
export function withoutUnannouncedFields<T extends object>(bundle: T, understood: readonly GatedBundleField[]): T {
  const out = { ...bundle } as Record<string, unknown>;
  for (const field of GATED_BUNDLE_FIELDS) if (!understood.includes(field)) delete out[field];
  return out as T;
}
