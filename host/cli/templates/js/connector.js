/**
 * The {{id}} connector: POSTs each event's payload as JSON to setting `url`
 * and maps the answer onto a delivery outcome.
 *
 * Built with `npm run build` (esbuild bundles this file with @sluice/guest,
 * componentize-js makes the component). `deliver` and `testConnection` run
 * once per call, in a fresh instance; the top level of this module runs
 * once, at build time.
 */

import {
  AuthError,
  ConnectionCheck,
  DeliveryOutcome,
  HttpError,
  RemoteError,
  Request,
  defineConnection,
  defineDeliverer,
  requestHeader,
} from '@sluice/guest';

/** The credential the host applies, when the configuration sets it. */
const API_KEY = 'api_key';

export const deliverer = defineDeliverer((context, event) => {
  let url;
  try {
    url = context.requireSetting('url');
  } catch (missing) {
    return DeliveryOutcome.failed(missing.message);
  }
  const request = Request.post(url)
    // The same event may be delivered again: the receiver can recognise it
    // by this key.
    .header('idempotency-key', event.id)
    .header('x-event-type', event.eventType)
    .jsonRaw(event.payload);
  try {
    requestHeader(API_KEY);
    request.authenticated(API_KEY);
  } catch (error) {
    if (!(error instanceof AuthError && error.reason === 'not-configured')) {
      return DeliveryOutcome.failed(error.message);
    }
  }
  try {
    return outcome(request.send(), context.nowMs);
  } catch (error) {
    if (error instanceof HttpError) {
      return DeliveryOutcome.fromHttpError(error);
    }
    throw error;
  }
});

export const connection = defineConnection((context) => {
  const url = context.setting('url');
  return url === undefined
    ? ConnectionCheck.misconfigured('setting `url` is not set')
    : ConnectionCheck.ok(`Events will be posted to ${url}.`);
});

/**
 * The outcome of the endpoint's answer; `nowMs` dates `Retry-After`.
 *
 * @param {import('@sluice/guest').Response} response
 * @param {number} nowMs
 */
export function outcome(response, nowMs) {
  const status = response.status;
  const remote = RemoteError.http(status, { message: response.text() });
  if (response.isSuccess) {
    return DeliveryOutcome.delivered();
  }
  if (status === 408 || status === 429 || status >= 500) {
    return DeliveryOutcome.retry(`the endpoint answered HTTP ${status}`, {
      afterSeconds: response.retryAfter(nowMs),
      remote,
    });
  }
  return DeliveryOutcome.failed(`the endpoint answered HTTP ${status}`, { remote });
}
