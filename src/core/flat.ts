/** A string in one piece: a concatenation or a slice of a topic would keep its parts (or the whole topic) alive as long as the session. */
export function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
