/** A string in one piece: a concatenation or a slice of a topic would keep its parts (or the whole topic) alive as long as the session. */
export function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

const NAME_POOL_SIZE = 1024;
const names = new Map<string, string>();

/**
 * One shared copy of a name thousands of per-device objects hold (application and version names):
 * ~40 bytes per device and name instead of a string each. Bounded, since names can come from topics:
 * past NAME_POOL_SIZE a name is returned flat and not kept.
 */
export function sharedName(name: string): string {
  const known = names.get(name);
  if (known !== undefined) return known;
  const own = flat(name);
  if (names.size < NAME_POOL_SIZE) names.set(own, own);
  return own;
}
