/**
 * The browser's session and the forms' CSRF protection.
 *
 * - Signing in (register, or pasting a token) puts the API token in a cookie: HttpOnly (no
 *   script reads it), SameSite=Strict (no other site's page sends it), Secure over https,
 *   Path=/. The token never appears in a URL, a redirect or a page after the one that first
 *   shows it; the server still keeps only its salted hash (tokens.ts).
 * - Every form carries a CSRF token: HMAC-SHA256, under a key made when the server starts, of
 *   a random per-browser nonce (its own HttpOnly, SameSite=Strict cookie) and the session
 *   token. A forged form from another site has neither cookie's value, and a nonce planted
 *   in the victim's browser does not match their session. POSTs whose Origin names another
 *   host (or is opaque) are refused before that. A server restart changes the key: a form rendered before it
 *   is refused once with "reload the page".
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

export const SESSION_COOKIE = 'sieve_session';
export const NONCE_COOKIE = 'sieve_nonce';
/** How long a browser stays signed in (the token itself does not expire). */
const SESSION_SECONDS = 30 * 24 * 3600;

export class Sessions {
  private readonly key = randomBytes(32);

  /** Over https (or behind a proxy that says it terminated https): the cookies are Secure. */
  private secure(c: Context): boolean {
    return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
  }

  /** The API token of the signed-in browser, if any (checked by the API on every use). */
  token(c: Context): string | undefined {
    const t = getCookie(c, SESSION_COOKIE);
    return t && /^sieve_[A-Za-z0-9_-]{1,200}$/.test(t) ? t : undefined;
  }

  signIn(c: Context, token: string): void {
    setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Strict', secure: this.secure(c), path: '/', maxAge: SESSION_SECONDS });
  }

  signOut(c: Context): void {
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: this.secure(c) });
  }

  /** This browser's nonce, made (and set as a cookie) on its first page. */
  private nonce(c: Context): string {
    const existing = getCookie(c, NONCE_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    // Made once per response: a page with two forms asks twice, and sent the cookie twice.
    const made = c.get('sieveNonce' as never) as string | undefined;
    if (made) return made;
    const fresh = randomBytes(32).toString('base64url');
    c.set('sieveNonce' as never, fresh as never);
    setCookie(c, NONCE_COOKIE, fresh, { httpOnly: true, sameSite: 'Strict', secure: this.secure(c), path: '/' });
    return fresh;
  }

  private sign(nonce: string, token: string | undefined): Buffer {
    return createHmac('sha256', this.key).update(`${nonce}\n${token ?? ''}`).digest();
  }

  /** The CSRF token for a form on this page (the token the browser will be signed in with when it posts). */
  csrf(c: Context, token = this.token(c)): string {
    return this.sign(this.nonce(c), token).toString('base64url');
  }

  /**
   * True when a POST comes from one of our own forms: same-origin (when the browser says where
   * it comes from) and a CSRF field matching this browser's nonce and session.
   */
  verify(c: Context, field: unknown): boolean {
    const origin = c.req.header('origin');
    // Host only: behind a proxy that terminates TLS the scheme we see is http.
    if (origin !== undefined && (origin === 'null' || hostOf(origin) !== new URL(c.req.url).host)) return false;
    if (c.req.header('sec-fetch-site') === 'cross-site') return false;
    const nonce = getCookie(c, NONCE_COOKIE);
    if (typeof field !== 'string' || !nonce) return false;
    const got = Buffer.from(field, 'base64url');
    const want = this.sign(nonce, this.token(c));
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}
