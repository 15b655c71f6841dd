/**
 * Why an HTTP request failed.
 *
 * @module
 */

/**
 * The kinds of {@link HttpError}, which decide what a connector does about
 * one.
 *
 * @readonly
 * @enum {string}
 */
export const HttpErrorKind = Object.freeze({
  /**
   * The host refused to send the request: its origin is not among the
   * manifest's allowed origins (or not one its credential is bound to), it
   * resolves to a forbidden address, or the call already sent as many
   * requests as it may. Retrying cannot help.
   */
  Refused: 'refused',
  /** The host name could not be resolved. */
  Dns: 'dns',
  /** Connecting, or waiting for the answer, took too long. */
  Timeout: 'timeout',
  /** The connection could not be made or broke off. */
  Connection: 'connection',
  /** The TLS handshake failed, for example on an untrusted certificate. */
  Tls: 'tls',
  /** The response (headers or body) is larger than allowed. */
  ResponseTooLarge: 'response-too-large',
  /** The request itself is malformed: a bad URL, header or body. */
  InvalidRequest: 'invalid-request',
  /** The remote system broke the HTTP protocol, or the host failed. */
  Protocol: 'protocol',
});

const DESCRIPTIONS = {
  [HttpErrorKind.Refused]: "request refused by the host's egress policy",
  [HttpErrorKind.Dns]: 'DNS lookup failed',
  [HttpErrorKind.Timeout]: 'request timed out',
  [HttpErrorKind.Connection]: 'connection failed',
  [HttpErrorKind.Tls]: 'TLS failed',
  [HttpErrorKind.ResponseTooLarge]: 'response too large',
  [HttpErrorKind.InvalidRequest]: 'invalid request',
  [HttpErrorKind.Protocol]: 'HTTP protocol error',
};

const RETRYABLE = new Set([
  HttpErrorKind.Dns,
  HttpErrorKind.Timeout,
  HttpErrorKind.Connection,
  HttpErrorKind.Tls,
  HttpErrorKind.Protocol,
]);

/**
 * A failed HTTP request: its {@link HttpErrorKind kind} and the details,
 * which for failures reported by the host name the `wasi:http` error code,
 * for example `HTTP-request-denied`.
 *
 * `message` reads `<what happened>: <detail>`, for example
 * `request refused by the host's egress policy: HTTP-request-denied`.
 */
export class HttpError extends Error {
  /**
   * @param {HttpErrorKind} kind what kind of failure it is
   * @param {string} detail the details, for example the host's error code
   */
  constructor(kind, detail) {
    super(`${DESCRIPTIONS[kind] ?? kind}: ${detail}`);
    this.name = 'HttpError';
    /** @type {HttpErrorKind} What kind of failure it is. */
    this.kind = kind;
    /** @type {string} The details, for example `HTTP-request-denied`. */
    this.detail = detail;
  }

  /** Whether the host refused to send the request. */
  get isRefused() {
    return this.kind === HttpErrorKind.Refused;
  }

  /**
   * Whether sending the same request later may succeed: true for network
   * trouble, false for refusals, malformed requests and oversized answers.
   */
  get isRetryable() {
    return RETRYABLE.has(this.kind);
  }

  /**
   * The error for a `wasi:http` `error-code` reported by the host, as the
   * bindings give it (`{ tag: 'HTTP-request-denied' }`).
   *
   * @param {{ tag: string, val?: unknown }} code
   * @returns {HttpError}
   */
  static fromErrorCode(code) {
    return new HttpError(kindOfErrorCode(code.tag), describeErrorCode(code));
  }
}

/**
 * Sorts the `wasi:http` error codes into kinds. Sluice's host reports an
 * origin outside the allow-list (or a credential asked for towards another
 * origin) as `HTTP-request-denied`, a forbidden address as
 * `destination-IP-prohibited` and the per-call request cap as
 * `connection-limit-reached`: all three are refusals.
 *
 * @param {string} tag the error code's case name
 * @returns {HttpErrorKind}
 */
export function kindOfErrorCode(tag) {
  switch (tag) {
    case 'HTTP-request-denied':
    case 'destination-IP-prohibited':
    case 'connection-limit-reached':
      return HttpErrorKind.Refused;
    case 'DNS-timeout':
    case 'DNS-error':
    case 'destination-not-found':
      return HttpErrorKind.Dns;
    case 'connection-timeout':
    case 'connection-read-timeout':
    case 'connection-write-timeout':
    case 'HTTP-response-timeout':
      return HttpErrorKind.Timeout;
    case 'destination-unavailable':
    case 'destination-IP-unroutable':
    case 'connection-refused':
    case 'connection-terminated':
    case 'HTTP-response-incomplete':
      return HttpErrorKind.Connection;
    case 'TLS-protocol-error':
    case 'TLS-certificate-error':
    case 'TLS-alert-received':
      return HttpErrorKind.Tls;
    case 'HTTP-response-header-section-size':
    case 'HTTP-response-header-size':
    case 'HTTP-response-body-size':
    case 'HTTP-response-trailer-section-size':
    case 'HTTP-response-trailer-size':
      return HttpErrorKind.ResponseTooLarge;
    case 'HTTP-request-length-required':
    case 'HTTP-request-body-size':
    case 'HTTP-request-method-invalid':
    case 'HTTP-request-URI-invalid':
    case 'HTTP-request-URI-too-long':
    case 'HTTP-request-header-section-size':
    case 'HTTP-request-header-size':
    case 'HTTP-request-trailer-section-size':
    case 'HTTP-request-trailer-size':
    case 'configuration-error':
      return HttpErrorKind.InvalidRequest;
    default:
      // HTTP-response-transfer-coding, HTTP-response-content-coding,
      // HTTP-upgrade-failed, HTTP-protocol-error, loop-detected,
      // internal-error, and any code a later wasi:http adds.
      return HttpErrorKind.Protocol;
  }
}

/**
 * An error code as text: its case name, and its payload when it has one,
 * for example `internal-error("connection reset")` or
 * `HTTP-response-body-size(1024)`.
 *
 * @param {{ tag: string, val?: unknown }} code
 * @returns {string}
 */
export function describeErrorCode(code) {
  if (code.val === undefined || code.val === null) {
    return code.tag;
  }
  // Sizes are `u64`s, which the bindings give as BigInts.
  const payload = JSON.stringify(code.val, (_, value) => (typeof value === 'bigint' ? Number(value) : value));
  return `${code.tag}(${payload})`;
}
