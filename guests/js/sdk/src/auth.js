/**
 * Requests the host authenticates with credentials the component never
 * holds.
 *
 * A credential whose manifest entry has a `[credentials.auth]` table (a
 * bearer token, an API key, an OAuth refresh token or service-account key,
 * an HMAC secret, an incoming-webhook URL) is applied by the host, and only
 * to the origins the manifest binds it to. Ask for it with
 * {@link Request#authenticated}:
 *
 * ```js
 * const response = Request.post('https://slack.com/api/chat.postMessage')
 *   .authenticated('bot_token')
 *   .json(message)
 *   .send();
 * ```
 *
 * @module
 */

import * as bindings from './bindings.js';

/**
 * Why the host cannot authenticate a request with a credential: `reason` is
 * `not-host-managed` (the manifest declares no such credential, or not with
 * an `auth` table) or `not-configured` (the configuration leaves it unset).
 */
export class AuthError extends Error {
  /**
   * @param {'not-host-managed' | 'not-configured'} reason
   * @param {string} key the credential's key
   */
  constructor(reason, key) {
    super(
      reason === 'not-configured'
        ? `credential '${key}' is not set in this configuration`
        : `credential '${key}' is not applied by the host: the manifest gives it no [credentials.auth] table`,
    );
    this.name = 'AuthError';
    /** @type {'not-host-managed' | 'not-configured'} */
    this.reason = reason;
    /** @type {string} */
    this.key = key;
  }
}

/**
 * The header `[name, value]` that asks the host to authenticate a request
 * with credential `key`. {@link Request#authenticated} adds it; call this
 * directly to learn whether a configuration sets the credential without
 * sending anything.
 *
 * @param {string} key the credential's key in the manifest
 * @returns {[string, string]}
 * @throws {AuthError}
 */
export function requestHeader(key) {
  try {
    return bindings.requestHeader(key);
  } catch (error) {
    throw new AuthError(error.payload === 'not-configured' ? 'not-configured' : 'not-host-managed', key);
  }
}

/** The header on an answer the host wrote itself because it could not obtain an access token. */
export const HOST_AUTH_ERROR_HEADER = 'sluice-auth-error';

/**
 * What kept the host from obtaining an access token.
 *
 * @readonly
 * @enum {string}
 */
export const HostAuthReason = Object.freeze({
  /**
   * The token endpoint refused the credential (a revoked grant, a wrong
   * client): someone must change the configuration.
   */
  TokenRefused: 'token-refused',
  /**
   * The credential's value cannot be used as the scheme needs (a
   * service-account key that is not one).
   */
  CredentialUnreadable: 'credential-unreadable',
  /** The token endpoint failed or could not be reached; a later attempt may succeed. */
  TokenEndpointFailed: 'token-endpoint-failed',
});

/**
 * A token endpoint's answer without a token: a refusal (RFC 6749 section
 * 5.2) or a failure.
 *
 * @typedef {object} TokenEndpointRefusal
 * @property {number} status its HTTP status
 * @property {string} error its `error` code, for example `invalid_grant`; empty when it gave none
 * @property {string | undefined} description its `error_description`, if any
 */

/**
 * Why the host answered a request itself instead of sending it: it could
 * not obtain an access token with the credential the request asked for
 * (401 with `sluice-auth-error: token-refused` or `credential-unreadable`,
 * or 503 with `token-endpoint-failed`).
 */
export class HostAuthFailure {
  /**
   * @param {HostAuthReason} reason
   * @param {string} description the host's explanation, naming the credential (never its value)
   * @param {TokenEndpointRefusal | undefined} tokenEndpoint the token endpoint's answer, when it gave one
   */
  constructor(reason, description, tokenEndpoint) {
    /** @type {HostAuthReason} What went wrong. */
    this.reason = reason;
    /** @type {string} The host's explanation, naming the credential (never its value). */
    this.description = description;
    /** @type {TokenEndpointRefusal | undefined} The token endpoint's answer, when it gave one. */
    this.tokenEndpoint = tokenEndpoint;
  }

  /**
   * The host's own answer in `response`, if it is one (header
   * {@link HOST_AUTH_ERROR_HEADER}); answers from the remote system give
   * `undefined`.
   *
   * @param {import('./http/response.js').Response} response
   * @returns {HostAuthFailure | undefined}
   */
  static fromResponse(response) {
    const marker = response.header(HOST_AUTH_ERROR_HEADER);
    if (marker === undefined) {
      return undefined;
    }
    const reason =
      marker === HostAuthReason.TokenRefused || marker === HostAuthReason.CredentialUnreadable
        ? marker
        : HostAuthReason.TokenEndpointFailed;
    let body = {};
    try {
      body = response.json() ?? {};
    } catch {
      // Not JSON: the description falls back to the text.
    }
    const text = (value) => (typeof value === 'string' ? value : undefined);
    const refusal = body.token_endpoint;
    const tokenEndpoint =
      refusal && typeof refusal === 'object'
        ? {
            status: Number.isInteger(refusal.status) ? refusal.status : response.status,
            error: text(refusal.error) ?? '',
            description: text(refusal.error_description),
          }
        : undefined;
    return new HostAuthFailure(reason, text(body.error_description) ?? response.text(), tokenEndpoint);
  }

  /** Whether a later attempt may succeed without anyone changing the configuration. */
  get isRetryable() {
    return this.reason === HostAuthReason.TokenEndpointFailed;
  }

  /**
   * The token endpoint's `error` code (`invalid_grant`,
   * `temporarily_unavailable`), if it gave one.
   *
   * @returns {string | undefined}
   */
  tokenError() {
    return this.tokenEndpoint?.error || undefined;
  }

  /** The host's description. */
  toString() {
    return this.description;
  }
}
