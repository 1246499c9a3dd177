/**
 * Where the Bifrost gateway is: a fixed URL, or a reader of the one requests go to now (the policy
 * bundle's, else the configuration's; a new bundle can move it). Undefined while there is none.
 */
export type GatewayUrlSource = string | (() => string | undefined);

export function readGatewayUrl(source: GatewayUrlSource): string | undefined {
  return typeof source === 'string' ? source : source();
}
