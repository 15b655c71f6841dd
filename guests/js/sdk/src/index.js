/**
 * The guest SDK for Sluice connectors written in JavaScript: the same shape
 * as the Rust SDK (`guests/sdk`), on top of the bindings componentize-js
 * generates from the contract `sluice:connector@0.1.1`.
 *
 * - {@link defineDeliverer} and {@link defineConnection}: the exports of
 *   world `delivery`, with the raw context wrapped in a {@link Context}
 *   (settings lookup, `nowMs` as a number);
 * - {@link Request}: a synchronous HTTP client over
 *   `wasi:http/outgoing-handler` with typed errors ({@link HttpError}),
 *   {@link Request#authenticated} for credentials the host applies, and
 *   {@link HostAuthFailure} for the host's answer when it cannot obtain a
 *   token;
 * - {@link credentials} (the few the manifest marks readable), {@link state}
 *   (with a cached-token helper), {@link log}: the host's capabilities;
 * - {@link DeliveryOutcome}, {@link ConnectionCheck}, {@link RemoteError}:
 *   what the exports return;
 * - {@link retryAfterSeconds} and date helpers.
 *
 * ```js
 * import { DeliveryOutcome, Request, defineConnection, defineDeliverer, ConnectionCheck } from '@sluice/guest';
 *
 * export const deliverer = defineDeliverer((context, event) => {
 *   const response = Request.post(context.requireSetting('url')).jsonRaw(event.payload).send();
 *   return response.isSuccess
 *     ? DeliveryOutcome.delivered()
 *     : DeliveryOutcome.retry(`HTTP ${response.status}`, { afterSeconds: response.retryAfter(context.nowMs) });
 * });
 * export const connection = defineConnection(() => ConnectionCheck.ok('nothing to check'));
 * ```
 *
 * Build with `sluice-js-build` (this package's `bin/build.js`), which
 * bundles the connector with this package and turns it into a component
 * with componentize-js.
 *
 * @module
 */

import { Context } from './context.js';

export { AuthError, HOST_AUTH_ERROR_HEADER, HostAuthFailure, HostAuthReason, requestHeader } from './auth.js';
export { Context, MissingField } from './context.js';
export { HttpError, HttpErrorKind } from './http/error.js';
export { DEFAULT_MAX_RESPONSE_BYTES, Request } from './http/request.js';
export { Response } from './http/response.js';
export { ConnectionCheck, DeliveryOutcome, MAX_REMOTE_MESSAGE_CHARS, RemoteError } from './outcome.js';
export { formatRfc3339, parseHttpDate, parseRfc3339Ms, retryAfterSeconds } from './time.js';
export * as credentials from './credentials.js';
export * as log from './log.js';
export * as state from './state.js';

/**
 * A platform event, as the host passes it to `deliver`.
 *
 * @typedef {object} Event
 * @property {string} id identifier, unique within its store: an idempotency key towards the remote system
 * @property {string} eventType dotted type, for example `order.placed`
 * @property {string} storeId the store the event belongs to
 * @property {string} occurredAt when it happened, RFC 3339
 * @property {string} payload the payload, a JSON document exactly as accepted
 */

/**
 * The `deliverer` export of world `delivery`:
 * `export const deliverer = defineDeliverer((context, event) => ...)`.
 *
 * `deliver` is called once per attempt, in a fresh instance, and returns a
 * {@link DeliveryOutcome}. An exception it lets escape ends the call as a
 * trap, recorded with its message and stack in the invocation report's
 * `stderr`: return an outcome for every failure you can name.
 *
 * @param {(context: Context, event: Event) => import('./outcome.js').DeliveryOutcome} deliver
 * @returns {{ deliver: Function }}
 */
export function defineDeliverer(deliver) {
  return { deliver: (context, event) => deliver(new Context(context), event) };
}

/**
 * The `connection` export of worlds `delivery` and `sync`:
 * `export const connection = defineConnection((context) => ...)`.
 *
 * `testConnection` checks the configuration's settings and credentials,
 * sending as little as possible, and returns a {@link ConnectionCheck}.
 *
 * @param {(context: Context) => import('./outcome.js').ConnectionCheck} testConnection
 * @returns {{ testConnection: Function }}
 */
export function defineConnection(testConnection) {
  return { testConnection: (context) => testConnection(new Context(context)) };
}
