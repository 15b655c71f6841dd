/**
 * Constructors for what the delivery and connection exports return, and how
 * an HTTP failure maps onto each.
 *
 * The values are the plain objects the bindings expect: a delivery outcome
 * is `{ tag: 'delivered' | 'retry' | 'failed', val }`, a connection check
 * `{ status, message, steps }`.
 *
 * @module
 */

/** Longest remote message kept in a {@link RemoteError}, in characters. */
export const MAX_REMOTE_MESSAGE_CHARS = 1_000;

/**
 * What a remote system answered when it refused or failed a call.
 *
 * @typedef {object} RemoteError
 * @property {number | undefined} status HTTP status of the failing call, when there was one
 * @property {string | undefined} code the remote system's own error code, for example `channel_not_found`
 * @property {string | undefined} message the remote system's message, cut to {@link MAX_REMOTE_MESSAGE_CHARS}
 */

/** Constructors of {@link RemoteError}s. */
export const RemoteError = Object.freeze({
  /**
   * The remote system answered with HTTP `status`, optionally with its own
   * error `code` and `message` (cut to {@link MAX_REMOTE_MESSAGE_CHARS}
   * characters, with `…` marking the cut).
   *
   * @param {number | undefined} status
   * @param {{ code?: string, message?: string }} [details]
   * @returns {RemoteError}
   */
  http(status, { code, message } = {}) {
    return { status, code, message: message === undefined ? undefined : cut(message) };
  },
});

/** `message` cut to {@link MAX_REMOTE_MESSAGE_CHARS} characters (code points, not UTF-16 units). */
function cut(message) {
  const chars = Array.from(message);
  return chars.length > MAX_REMOTE_MESSAGE_CHARS ? `${chars.slice(0, MAX_REMOTE_MESSAGE_CHARS).join('')}…` : message;
}

/**
 * The result of one delivery attempt.
 *
 * @typedef {{ tag: 'delivered', val: { externalId: string | undefined } }
 *   | { tag: 'retry', val: { reason: string, afterSeconds: number | undefined, remote: RemoteError | undefined } }
 *   | { tag: 'failed', val: { reason: string, remote: RemoteError | undefined } }} DeliveryOutcome
 */

/** Constructors of {@link DeliveryOutcome}s. */
export const DeliveryOutcome = Object.freeze({
  /**
   * Delivered; `externalId` is the remote system's id for what was created,
   * for example a Slack message `ts`.
   *
   * @param {string} [externalId]
   * @returns {DeliveryOutcome}
   */
  delivered(externalId) {
    return { tag: 'delivered', val: { externalId } };
  },

  /**
   * Failed in a way that may succeed later; `afterSeconds` asks for a delay
   * before the next attempt (for example from `Retry-After`), which the
   * host honours within its bounds.
   *
   * @param {string} reason why, for the attempt log
   * @param {{ afterSeconds?: number, remote?: RemoteError }} [details]
   * @returns {DeliveryOutcome}
   */
  retry(reason, { afterSeconds, remote } = {}) {
    return { tag: 'retry', val: { reason, afterSeconds, remote } };
  },

  /**
   * Failed in a way that retrying cannot fix; the delivery is dead-lettered.
   *
   * @param {string} reason why, for the store admin: say what to fix
   * @param {{ remote?: RemoteError }} [details]
   * @returns {DeliveryOutcome}
   */
  failed(reason, { remote } = {}) {
    return { tag: 'failed', val: { reason, remote } };
  },

  /**
   * The outcome of a request that got no answer: network trouble is a
   * retry; a request the host refused or that cannot be sent is a
   * permanent failure.
   *
   * @param {import('./http/error.js').HttpError} error
   * @returns {DeliveryOutcome}
   */
  fromHttpError(error) {
    return error.isRetryable ? DeliveryOutcome.retry(error.message) : DeliveryOutcome.failed(error.message);
  },
});

/**
 * The result of a connection check.
 *
 * @typedef {object} ConnectionCheck
 * @property {'ok' | 'misconfigured' | 'unauthorized' | 'unreachable'} status the overall verdict
 * @property {string} message one sentence for the store admin: what was checked and what to fix
 * @property {Array<[string, string]>} steps what each step found, in order
 */

/**
 * Steps as given: `[[step, finding], ...]` or `{ step: finding, ... }`.
 *
 * @typedef {Array<[string, string]> | Record<string, string>} Steps
 */

function check(status, message, steps = []) {
  const pairs = Array.isArray(steps) ? steps : Object.entries(steps);
  return { status, message, steps: pairs.map(([step, finding]) => [String(step), String(finding)]) };
}

/** Constructors of {@link ConnectionCheck}s. */
export const ConnectionCheck = Object.freeze({
  /** Everything checked works. @param {string} message @param {Steps} [steps] @returns {ConnectionCheck} */
  ok(message, steps) {
    return check('ok', message, steps);
  },

  /**
   * A setting or credential is missing or malformed; nothing was sent.
   *
   * @param {string} message @param {Steps} [steps] @returns {ConnectionCheck}
   */
  misconfigured(message, steps) {
    return check('misconfigured', message, steps);
  },

  /** The remote system refused the credentials. @param {string} message @param {Steps} [steps] @returns {ConnectionCheck} */
  unauthorized(message, steps) {
    return check('unauthorized', message, steps);
  },

  /**
   * The remote system could not be reached or answered with an error.
   *
   * @param {string} message @param {Steps} [steps] @returns {ConnectionCheck}
   */
  unreachable(message, steps) {
    return check('unreachable', message, steps);
  },

  /**
   * A check whose request got no answer: the remote system is reported
   * unreachable, naming the error.
   *
   * @param {import('./http/error.js').HttpError} error
   * @returns {ConnectionCheck}
   */
  fromHttpError(error) {
    return check('unreachable', `could not reach the remote system: ${error.message}`);
  },
});
