/** A random password for "Generate": 16 characters from an unambiguous alphabet (~90 bits). */
export function generatePassword(length = 16): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

const MIN_PASSWORD = 8;

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw new Error(`The password is too short: use at least ${MIN_PASSWORD} characters.`);
}
