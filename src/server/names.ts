/**
 * Participant names as pages show them: what two names must not share to be told apart, and
 * the names that would pass for the server's own accounts.
 */

/**
 * The key two names must not share: case, spaces, ".", "_" and "-" are ignored wherever they
 * are (HTML shows "ada  lovelace" as "ada lovelace"; "Bob" and "b o b" pass for "bob").
 */
export function participantNameKey(name: string): string {
  return name.toLowerCase().replace(/[ ._-]+/g, '');
}

/** Name keys a participant may not register. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['organiser', 'organizer', 'admin', 'administrator', 'root', 'sieve', 'server', 'system', 'staff', 'moderator', 'worker']);
