/**
 * Building and sending a request over `wasi:http/outgoing-handler`.
 *
 * @module
 */

import { requestHeader } from '../auth.js';
import { Fields, OutgoingBody, OutgoingRequest, RequestOptions, handle, httpErrorCode } from '../bindings.js';
import { HttpError, HttpErrorKind } from './error.js';
import { Response } from './response.js';
import { parseTarget } from './url.js';

/** Largest response body {@link Request#send} reads unless told otherwise. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** `blocking-write-and-flush` accepts at most this many bytes per call. */
const WRITE_CHUNK_BYTES = 4096;

/** Bytes asked for per read of the response body. */
const READ_CHUNK_BYTES = 64n * 1024n;

const ENCODER = new TextEncoder();
const DECODER = new TextDecoder();

/** Methods whose requests carry a body, so an empty one is announced with `content-length: 0`. */
const SENDS_BODY = new Set(['POST', 'PUT', 'PATCH']);

/** The `wasi:http` method variant of each standard method. */
const METHODS = {
  GET: 'get',
  HEAD: 'head',
  POST: 'post',
  PUT: 'put',
  DELETE: 'delete',
  CONNECT: 'connect',
  OPTIONS: 'options',
  TRACE: 'trace',
  PATCH: 'patch',
};

const DISPOSE = Symbol.dispose ?? Symbol.for('dispose');

/**
 * An HTTP request being built; {@link Request#send} it when complete.
 *
 * Every request leaves through the host, which checks it against the
 * manifest's allowed origins and the operator's policy, resolves the name
 * itself, refuses private addresses and caps time, size and count. A
 * refusal comes back as an {@link HttpError} of kind `refused`.
 *
 * The builder methods change the request and return it, so they chain:
 *
 * ```js
 * const response = Request.post('https://hooks.slack.com/')
 *   .authenticated('webhook_url')
 *   .json(message)
 *   .send();
 * ```
 *
 * The client is synchronous, on purpose: it writes the body and waits for
 * the answer itself, so a request the host refuses or drops always ends as
 * an {@link HttpError} carrying the host's error code, never as a trap (see
 * "Writing a connector in JavaScript" in the README for why `fetch` is not
 * used).
 */
export class Request {
  /**
   * A request with `method` (upper case, for example `POST`) to the absolute `url`.
   *
   * @param {string} method
   * @param {string} url
   */
  constructor(method, url) {
    /** @type {string} */
    this.method = method.toUpperCase();
    /** @type {string} */
    this.url = url;
    /** @type {Array<[string, string]>} Headers, in the order added. */
    this.headers = [];
    /** @type {Uint8Array} */
    this.bodyBytes = new Uint8Array();
    /** @type {number | undefined} Timeout in milliseconds. */
    this.timeoutMs = undefined;
    /** @type {number} */
    this.maxBytes = DEFAULT_MAX_RESPONSE_BYTES;
    // Why the request cannot be sent, found while building it; thrown by
    // `send` so that the builder methods can be chained.
    this.invalid = undefined;
  }

  /** A `GET` request. @param {string} url @returns {Request} */
  static get(url) {
    return new Request('GET', url);
  }

  /** A `POST` request. @param {string} url @returns {Request} */
  static post(url) {
    return new Request('POST', url);
  }

  /** A `PUT` request. @param {string} url @returns {Request} */
  static put(url) {
    return new Request('PUT', url);
  }

  /** A `PATCH` request. @param {string} url @returns {Request} */
  static patch(url) {
    return new Request('PATCH', url);
  }

  /** A `DELETE` request. @param {string} url @returns {Request} */
  static delete(url) {
    return new Request('DELETE', url);
  }

  /**
   * Adds header `name: value`; a header may be given several times.
   *
   * @param {string} name
   * @param {string} value
   * @returns {this}
   */
  header(name, value) {
    this.headers.push([name, String(value)]);
    return this;
  }

  /**
   * Adds `Authorization: Bearer <token>`, for a token the connector holds
   * itself (one it obtained, not a credential: see {@link Request#authenticated}).
   *
   * @param {string} token
   * @returns {this}
   */
  bearerAuth(token) {
    return this.header('authorization', `Bearer ${token}`);
  }

  /**
   * Has the host authenticate the request with credential `key`, as the
   * manifest's `[credentials.auth]` table for it says; the component never
   * sees the secret. The host refuses the request if its origin is not one
   * the credential is bound to. When the manifest gives the credential no
   * `auth` table, or the configuration leaves it unset, {@link Request#send}
   * throws an `invalid-request` error naming it.
   *
   * @param {string} key the credential's key in the manifest
   * @returns {this}
   */
  authenticated(key) {
    try {
      const [name, value] = requestHeader(key);
      return this.header(name, value);
    } catch (error) {
      this.invalid ??= error.message;
      return this;
    }
  }

  /**
   * Sets the body, sent as it is: bytes, or text sent as UTF-8.
   *
   * @param {Uint8Array | string} body
   * @returns {this}
   */
  body(body) {
    this.bodyBytes = typeof body === 'string' ? ENCODER.encode(body) : body;
    return this;
  }

  /**
   * Sets the body to `value` serialised as JSON, with
   * `content-type: application/json; charset=utf-8`.
   *
   * @param {unknown} value
   * @returns {this}
   */
  json(value) {
    let text;
    try {
      text = JSON.stringify(value);
    } catch (error) {
      this.invalid ??= `the JSON body cannot be serialised: ${error.message}`;
      return this;
    }
    return this.jsonRaw(text);
  }

  /**
   * Sets the body to an already serialised JSON document, with
   * `content-type: application/json; charset=utf-8`.
   *
   * @param {string | Uint8Array} json
   * @returns {this}
   */
  jsonRaw(json) {
    return this.header('content-type', 'application/json; charset=utf-8').body(json);
  }

  /**
   * Asks the host to give up connecting, waiting for the first byte, or
   * waiting between two bytes after `ms` milliseconds. The host's own
   * limits apply in any case.
   *
   * @param {number} ms
   * @returns {this}
   */
  timeout(ms) {
    this.timeoutMs = ms;
    return this;
  }

  /**
   * Sets the largest response body {@link Request#send} reads before
   * failing with kind `response-too-large`; the default is
   * {@link DEFAULT_MAX_RESPONSE_BYTES}. The host's own cap applies in any
   * case.
   *
   * @param {number} limit bytes
   * @returns {this}
   */
  maxResponseBytes(limit) {
    this.maxBytes = limit;
    return this;
  }

  /**
   * Sends the request and reads the whole response. Any status is a
   * response, 4xx and 5xx included; only a request that got no answer
   * throws.
   *
   * The host answers a request it could not authenticate itself, with
   * header `sluice-auth-error`: read it with
   * {@link HostAuthFailure.fromResponse}.
   *
   * @returns {Response}
   * @throws {HttpError} when the request is malformed, refused by the host,
   *   or gets no complete answer
   */
  send() {
    if (this.invalid !== undefined) {
      throw new HttpError(HttpErrorKind.InvalidRequest, this.invalid);
    }
    let target;
    try {
      target = parseTarget(this.url);
    } catch (error) {
      throw new HttpError(HttpErrorKind.InvalidRequest, error.message);
    }
    const request = this.#outgoingRequest(target);
    const body = call(() => request.body(), 'the request body was already taken');
    const options = this.#options();
    let pending;
    try {
      pending = handle(request, options);
    } catch (error) {
      dispose(body);
      throw hostError(error);
    }
    try {
      // The body is written after `handle` so that the host streams it out
      // as it comes; written before, a large body would fill the host's
      // buffer with nobody reading it.
      try {
        writeBody(body, this.bodyBytes);
      } catch (writeError) {
        dispose(body);
        // An abandoned body ends the request; the host's reason for refusing
        // it, if any, is the more useful error.
        waitFor(pending, dispose);
        throw writeError;
      }
      try {
        OutgoingBody.finish(body, undefined);
      } catch (error) {
        throw hostError(error);
      }
      return readResponse(waitFor(pending, (response) => response), this.maxBytes);
    } finally {
      dispose(pending);
    }
  }

  #outgoingRequest(target) {
    const entries = this.headers.map(([name, value]) => [name.toLowerCase(), ENCODER.encode(value)]);
    if (this.bodyBytes.length > 0 || SENDS_BODY.has(this.method)) {
      entries.push(['content-length', ENCODER.encode(String(this.bodyBytes.length))]);
    }
    let headers;
    try {
      headers = Fields.fromList(entries);
    } catch (error) {
      throw new HttpError(
        HttpErrorKind.InvalidRequest,
        `a header is not allowed or malformed: ${describePayload(error)}`,
      );
    }
    const request = new OutgoingRequest(headers);
    const method = METHODS[this.method] ? { tag: METHODS[this.method] } : { tag: 'other', val: this.method };
    call(() => request.setMethod(method), `method ${JSON.stringify(this.method)} is not valid`);
    call(() => request.setScheme({ tag: target.https ? 'HTTPS' : 'HTTP' }), 'the URL scheme is not valid');
    call(() => request.setAuthority(target.authority), `host ${JSON.stringify(target.authority)} is not valid`);
    call(
      () => request.setPathWithQuery(target.pathWithQuery),
      `path ${JSON.stringify(target.pathWithQuery)} is not valid`,
    );
    return request;
  }

  #options() {
    if (this.timeoutMs === undefined) {
      return undefined;
    }
    const nanos = BigInt(Math.max(0, Math.round(this.timeoutMs))) * 1_000_000n;
    const options = new RequestOptions();
    const unsupported = 'the host does not support request timeouts';
    call(() => options.setConnectTimeout(nanos), unsupported);
    call(() => options.setFirstByteTimeout(nanos), unsupported);
    call(() => options.setBetweenBytesTimeout(nanos), unsupported);
    return options;
  }
}

/** Runs a binding call whose only failure is `problem`, a malformed request. */
function call(operation, problem) {
  try {
    return operation();
  } catch {
    throw new HttpError(HttpErrorKind.InvalidRequest, problem);
  }
}

/** Streams `bytes` into the request body, then drops the stream as `finish` requires. */
function writeBody(body, bytes) {
  const stream = call(() => body.write(), 'the request body stream was already taken');
  try {
    for (let at = 0; at < bytes.length; at += WRITE_CHUNK_BYTES) {
      try {
        stream.blockingWriteAndFlush(bytes.subarray(at, at + WRITE_CHUNK_BYTES));
      } catch (error) {
        throw streamError(error, 'the request body stream closed early');
      }
    }
  } finally {
    dispose(stream);
  }
}

/**
 * Blocks until the response head arrives or the request fails, and hands
 * the response to `use`.
 */
function waitFor(pending, use) {
  for (;;) {
    const ready = pending.get();
    if (ready === undefined) {
      const pollable = pending.subscribe();
      pollable.block();
      dispose(pollable);
      continue;
    }
    if (ready.tag === 'err') {
      throw new HttpError(HttpErrorKind.Protocol, 'the response was already taken');
    }
    if (ready.val.tag === 'err') {
      throw HttpError.fromErrorCode(ready.val.val);
    }
    return use(ready.val.val);
  }
}

/** Reads status, headers and the whole body of `response`, dropping each resource in the order `wasi:http` wants. */
function readResponse(response, limit) {
  try {
    const status = response.status();
    const fields = response.headers();
    const headers = fields.entries().map(([name, value]) => [name, DECODER.decode(value)]);
    dispose(fields);
    const body = call(() => response.consume(), 'the response body was already taken');
    try {
      const stream = call(() => body.stream(), 'the response body stream was already taken');
      try {
        return new Response(status, headers, readAll(stream, limit));
      } finally {
        dispose(stream);
      }
    } finally {
      dispose(body);
    }
  } finally {
    dispose(response);
  }
}

function readAll(stream, limit) {
  const chunks = [];
  let length = 0;
  for (;;) {
    let chunk;
    try {
      chunk = stream.blockingRead(READ_CHUNK_BYTES);
    } catch (error) {
      if (error.payload?.tag === 'closed') {
        break;
      }
      throw streamError(error, 'the response body closed early');
    }
    if (length + chunk.length > limit) {
      throw new HttpError(HttpErrorKind.ResponseTooLarge, `the response body exceeds ${limit} bytes`);
    }
    chunks.push(chunk);
    length += chunk.length;
  }
  const body = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

/** The error behind a failed stream operation, as the host reported it. */
function streamError(error, closed) {
  const payload = error.payload;
  if (payload?.tag === 'last-operation-failed') {
    const ioError = payload.val;
    try {
      const code = httpErrorCode(ioError);
      return code === undefined
        ? new HttpError(HttpErrorKind.Connection, ioError.toDebugString())
        : HttpError.fromErrorCode(code);
    } finally {
      dispose(ioError);
    }
  }
  if (payload?.tag === 'closed') {
    return new HttpError(HttpErrorKind.Connection, closed);
  }
  return hostError(error);
}

/** An error thrown by a `wasi:http` call that returns an `error-code`. */
function hostError(error) {
  if (error instanceof HttpError) {
    return error;
  }
  if (typeof error?.payload?.tag === 'string') {
    return HttpError.fromErrorCode(error.payload);
  }
  return new HttpError(HttpErrorKind.Protocol, String(error?.message ?? error));
}

function describePayload(error) {
  return typeof error?.payload?.tag === 'string' ? error.payload.tag : String(error?.payload ?? error);
}

/** Drops a `wasi:http` resource now: a parent may only go after its children. */
function dispose(resource) {
  resource?.[DISPOSE]?.();
}
