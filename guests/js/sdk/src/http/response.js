/**
 * A response read in full.
 *
 * @module
 */

import { retryAfterSeconds } from '../time.js';

const DECODER = new TextDecoder();
const ENCODER = new TextEncoder();

/** A response read in full by {@link Request#send}. */
export class Response {
  /**
   * A response with `status`, `headers` and `body`, as if received: the
   * client builds them, and tests build them to check code that reads
   * answers.
   *
   * @param {number} status the HTTP status code
   * @param {Array<[string, string]>} [headers] (name, value) pairs; names are kept lower case
   * @param {Uint8Array | string} [body] the body, bytes or text
   */
  constructor(status, headers = [], body = new Uint8Array()) {
    /** @type {number} The HTTP status code. */
    this.status = status;
    /**
     * @type {Array<[string, string]>} The headers in the order received,
     * names in lower case; values that are not UTF-8 are decoded lossily.
     */
    this.headers = headers.map(([name, value]) => [name.toLowerCase(), value]);
    /** @type {Uint8Array} The body. */
    this.body = typeof body === 'string' ? ENCODER.encode(body) : body;
  }

  /** Whether the status is 2xx. */
  get isSuccess() {
    return this.status >= 200 && this.status < 300;
  }

  /**
   * The first value of header `name` (any case).
   *
   * @param {string} name
   * @returns {string | undefined}
   */
  header(name) {
    const wanted = name.toLowerCase();
    return this.headers.find(([key]) => key === wanted)?.[1];
  }

  /**
   * The body as text; bytes that are not UTF-8 are replaced.
   *
   * @returns {string}
   */
  text() {
    return DECODER.decode(this.body);
  }

  /**
   * The body parsed as JSON.
   *
   * @returns {any}
   * @throws {SyntaxError} when the body is not JSON
   */
  json() {
    return JSON.parse(this.text());
  }

  /**
   * The delay the `Retry-After` header asks for, in seconds from `nowMs`
   * (the invocation context's `nowMs`), when there is a valid one.
   *
   * @param {number} nowMs the current time, unix milliseconds
   * @returns {number | undefined}
   */
  retryAfter(nowMs) {
    const value = this.header('retry-after');
    return value === undefined ? undefined : retryAfterSeconds(value, nowMs);
  }
}
