/**
 * Small key/value state kept per configuration, for cached access tokens,
 * remote ids and cursors.
 *
 * The host bounds the size of keys and values and the number of keys, and
 * expires values written with a TTL on its own clock.
 *
 * @module
 */

import { deleteState, getState, setState } from './bindings.js';
import * as log from './log.js';

/**
 * How long before its expiry a cached token stops being used, in seconds,
 * so that a token is never sent just as it expires.
 */
export const TOKEN_EXPIRY_MARGIN_SECONDS = 60;

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder('utf-8', { fatal: true });

/**
 * Why the host refused a write: `reason` is `key-too-long`,
 * `value-too-large`, `quota-exceeded` or `unavailable` (the host could not
 * store the value right now; the call may be retried).
 */
export class StateError extends Error {
  /**
   * @param {'key-too-long' | 'value-too-large' | 'quota-exceeded' | 'unavailable'} reason
   * @param {string} key
   */
  constructor(reason, key) {
    super(`the host refused to store state key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'StateError';
    /** @type {'key-too-long' | 'value-too-large' | 'quota-exceeded' | 'unavailable'} */
    this.reason = reason;
    /** @type {string} */
    this.key = key;
  }

  /** Whether a later call may succeed in storing it. */
  get isRetryable() {
    return this.reason === 'unavailable';
  }
}

/**
 * The bytes stored under `key`, or `undefined` when absent or expired.
 *
 * @param {string} key
 * @returns {Uint8Array | undefined}
 */
export function get(key) {
  return getState(key);
}

/**
 * The text stored under `key`, or `undefined` when absent, expired or not UTF-8.
 *
 * @param {string} key
 * @returns {string | undefined}
 */
export function getString(key) {
  const bytes = getState(key);
  if (bytes === undefined) {
    return undefined;
  }
  try {
    return DECODER.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Stores `value` (bytes, or text stored as UTF-8) under `key`; with
 * `ttlSeconds` it expires that many seconds from now.
 *
 * @param {string} key
 * @param {Uint8Array | string} value
 * @param {number} [ttlSeconds]
 * @throws {StateError} when the host refuses the write
 */
export function set(key, value, ttlSeconds) {
  try {
    setState(key, typeof value === 'string' ? ENCODER.encode(value) : value, ttlSeconds);
  } catch (error) {
    throw new StateError(error.payload ?? 'unavailable', key);
  }
}

/**
 * Removes `key`; removing an absent key is not an error.
 *
 * @param {string} key
 */
export function remove(key) {
  deleteState(key);
}

/**
 * An access token cached under `key`, obtained with `fetch` when there is
 * none or it is about to expire.
 *
 * `fetch` returns the token and its lifetime in seconds (the `expires_in` of
 * an OAuth answer). The token is kept until
 * {@link TOKEN_EXPIRY_MARGIN_SECONDS} before it expires; a token living less
 * than that is used but not cached. When the remote system refuses a cached
 * token (HTTP 401 or 403), call {@link invalidateToken} so that the next
 * call fetches a fresh one. Errors `fetch` throws go to the caller.
 *
 * Prefer host-managed authentication (`[credentials.auth]` with an OAuth
 * scheme) where the API allows it: the host then caches and refreshes the
 * token itself and the component never holds the secret. This helper is for
 * tokens the host cannot obtain, for example from a proprietary login call.
 *
 * ```js
 * const token = state.cachedToken('access_token', () => login());
 * ```
 *
 * @param {string} key
 * @param {() => { token: string, expiresIn: number }} fetch
 * @returns {string}
 */
export function cachedToken(key, fetch) {
  const cached = getString(key);
  if (cached !== undefined) {
    return cached;
  }
  const { token, expiresIn } = fetch();
  const ttl = tokenCacheTtl(expiresIn);
  if (ttl !== undefined) {
    try {
      set(key, token, ttl);
    } catch (error) {
      // The token is good even if the host cannot keep it; the next call
      // then fetches another one.
      log.warn('could not cache the access token', { key, error: error.reason });
    }
  }
  return token;
}

/**
 * Forgets the token cached under `key` by {@link cachedToken}, for example
 * after the remote system answered 401 or 403 with it.
 *
 * @param {string} key
 */
export function invalidateToken(key) {
  remove(key);
}

/** How long to keep a token living `expiresIn` seconds, or `undefined` when it is not worth caching. */
function tokenCacheTtl(expiresIn) {
  const ttl = Math.floor(expiresIn) - TOKEN_EXPIRY_MARGIN_SECONDS;
  return ttl > 0 ? ttl : undefined;
}
