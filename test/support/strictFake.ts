/**
 * Fails the test that called a fake in a way it does not know (a route, a parameter): the product
 * called something of the vendor's that the fake was not made for, so a green test would prove
 * nothing about it. Empties the list.
 */
export function failOnUnknownCalls(vendor: string, unknown: string[]): void {
  if (unknown.length === 0) return;
  const calls = [...new Set(unknown)].join(', ');
  unknown.length = 0;
  throw new Error(
    `The fake ${vendor} was called on routes it does not know: ${calls}. Add them to the fake, as strict as ${vendor}'s documentation.`,
  );
}
