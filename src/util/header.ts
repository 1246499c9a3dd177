/** A request header's value as one string: Node gives repeated headers (rare here) as an array; the first counts. */
export function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
