/**
 * Participant names as pages show them: what two names must not share to be told apart, and
 * the names that would pass for the server's own accounts.
 */

/**
 * Characters a page shows alike in many fonts, each mapped to one of them: 0 and o; 1, l and i
 * (capital I is a lower-case l in sans-serif: "AIice" passed for "Alice"); "rn" and m; "vv"
 * and w. Names are ASCII (app.ts NAME), so this is the whole list that matters.
 */
function lookAlike(s: string): string {
  return s.replace(/0/g, 'o').replace(/[1i]/g, 'l').replace(/rn/g, 'm').replace(/vv/g, 'w');
}

/**
 * The key two names must not share: case, spaces, ".", "_" and "-" are ignored wherever they
 * are (HTML shows "ada  lovelace" as "ada lovelace"; "Bob" and "b o b" pass for "bob"), and
 * look-alike characters are one (lookAlike).
 */
export function participantNameKey(name: string): string {
  return lookAlike(name.toLowerCase().replace(/[ ._-]+/g, ''));
}

/** Names a participant may not register (keys as participantNameKey makes them). */
const RESERVED = ['organiser', 'organizer', 'admin', 'administrator', 'root', 'sieve', 'server', 'system', 'staff', 'moderator', 'worker'];
const RESERVED_KEYS: ReadonlySet<string> = new Set(RESERVED.map(participantNameKey));

/**
 * Whether a name would pass for one of the server's own accounts: the whole name, or one of its
 * words, is a reserved name up to participantNameKey ("0rganiser", "Adm1n", "the organiser",
 * "organiser 2" all passed; "badminton" is not "admin").
 */
export function isReservedName(name: string): boolean {
  if (RESERVED_KEYS.has(participantNameKey(name))) return true;
  return name.split(/[ ._-]+/).some((w) => w !== '' && RESERVED_KEYS.has(participantNameKey(w.replace(/\d+$/, ''))));
}
