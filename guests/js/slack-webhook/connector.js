/**
 * Slack through an incoming webhook, written in JavaScript: the Slack
 * connector's `incoming-webhook` mode (guests/connectors/slack), on the
 * same contract and with the same answers.
 *
 * - Delivery: renders each platform event as a Block Kit message (a header,
 *   the event's facts as fields, and a context line naming the store, the
 *   event and when it happened) and posts it to the webhook; maps Slack's
 *   answers onto delivery outcomes as the Rust connector does.
 * - Connection check: Slack offers no way to test an incoming webhook
 *   without posting, so the check says whether the URL is set.
 *
 * The component never sees the webhook URL, whose path is the secret: it
 * posts to Slack's origin and the host, which holds the credential
 * (`[credentials.auth] scheme = "url"`), replaces the path with the URL's.
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

/** The credential holding the incoming-webhook URL, applied by the host. */
const WEBHOOK_URL = 'webhook_url';

/**
 * Where a message is sent: the host replaces the path with the one of the
 * configuration's webhook URL, which the connector never sees.
 */
const WEBHOOK_ORIGIN = 'https://hooks.slack.com/';

/** What a webhook check can say. */
const WEBHOOK_NOT_TESTED =
  'The webhook URL is set, and had the form of a Slack incoming-webhook URL when it was saved. ' +
  'Slack offers no way to test an incoming webhook without posting a message, so nothing was sent.';

// Block Kit limits: Slack answers `invalid_payload` for a header over 150
// characters, a field over 2,000, more than ten fields, or a message whose
// blocks hold more than about 12,000 characters of text. Texts are cut
// after escaping (which can make them five times longer), so that ten
// fields, the header and the context stay far within all of these.
const MAX_HEADER_CHARS = 150;
const MAX_FIELDS = 10;
const MAX_LABEL_CHARS = 100;
const MAX_VALUE_CHARS = 300;
const MAX_CONTEXT_CHARS = 300;

export const deliverer = defineDeliverer((context, event) => {
  try {
    requestHeader(WEBHOOK_URL);
  } catch (error) {
    return DeliveryOutcome.failed(missingCredential(error));
  }
  let response;
  try {
    response = Request.post(WEBHOOK_ORIGIN).authenticated(WEBHOOK_URL).json(render(event)).send();
  } catch (error) {
    if (error instanceof HttpError) {
      return transportFailure(error);
    }
    throw error;
  }
  return webhookOutcome(response, context.nowMs);
});

export const connection = defineConnection(() => {
  try {
    requestHeader(WEBHOOK_URL);
  } catch (error) {
    return ConnectionCheck.misconfigured(missingCredential(error));
  }
  return ConnectionCheck.ok(WEBHOOK_NOT_TESTED, [[WEBHOOK_URL, 'set; applied by the host']]);
});

/** What to tell the store admin when the webhook URL cannot be used. */
function missingCredential(error) {
  if (error instanceof AuthError && error.reason === 'not-configured') {
    return `credential \`${WEBHOOK_URL}\` is not set`;
  }
  return error.message;
}

// ---------------------------------------------------------------------------
// Slack's answers

/**
 * The outcome of an incoming-webhook answer: `200 ok` is delivered, a rate
 * limit or a 5xx is retried (after `Retry-After` when given), and an error
 * code (`404 no_service`, `410 channel_is_archived`) fails or retries as the
 * code says.
 */
function webhookOutcome(response, nowMs) {
  const status = response.status;
  const body = response.text().trim();
  const code = webhookErrorCode(body);
  const remote = RemoteError.http(status, { code, message: body });
  const afterSeconds = response.retryAfter(nowMs);
  if (response.isSuccess) {
    return DeliveryOutcome.delivered();
  }
  if (status === 429) {
    return DeliveryOutcome.retry('Slack is rate limiting this webhook', { afterSeconds, remote });
  }
  if (status >= 500 && status <= 599) {
    return DeliveryOutcome.retry(`Slack answered HTTP ${status}`, { afterSeconds, remote });
  }
  if (code !== undefined) {
    return outcomeForCode(code, remote, afterSeconds);
  }
  return DeliveryOutcome.failed(`Slack answered HTTP ${status}`, { remote });
}

/**
 * Slack's error code in an incoming-webhook answer: the plain-text body
 * (`channel_not_found`), or the `error` of the JSON body Slack sends with a
 * rate limit (`{"ok":false,"error":"rate_limited"}`).
 */
function webhookErrorCode(body) {
  if (isCode(body)) {
    return body;
  }
  try {
    const answer = JSON.parse(body);
    return typeof answer?.error === 'string' && isCode(answer.error) ? answer.error : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `text` looks like one of Slack's error codes rather than a free-form message. */
function isCode(text) {
  return /^[a-z0-9_]{1,64}$/.test(text);
}

/** Codes retrying cannot fix, with what the store admin should know. */
const PERMANENT_CODES = {
  channel_not_found: 'the channel does not exist or the app cannot see it',
  channel_is_archived: 'the channel is archived',
  is_archived: 'the channel is archived',
  no_service: 'the incoming webhook was removed or disabled',
  invalid_payload: 'Slack could not read the message',
  no_text: 'the message had no text',
  msg_too_long: 'the message is too long',
  action_prohibited: 'a workspace admin restricted posting to this channel',
};

/** Codes meaning Slack is overloaded or failed: a later attempt may succeed. */
const TRANSIENT_CODES = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'rollup_error',
]);

/** The outcome for Slack error `code`, known or not. */
function outcomeForCode(code, remote, afterSeconds) {
  if (Object.hasOwn(PERMANENT_CODES, code)) {
    return DeliveryOutcome.failed(`Slack refused the message: ${PERMANENT_CODES[code]} (${code})`, { remote });
  }
  if (TRANSIENT_CODES.has(code)) {
    return DeliveryOutcome.retry(`Slack could not post the message (${code})`, { afterSeconds, remote });
  }
  return DeliveryOutcome.failed(`Slack refused the message with error ${code}`, { remote });
}

/** The outcome when no answer came back. */
function transportFailure(error) {
  if (error.isRetryable) {
    return DeliveryOutcome.retry(`could not reach Slack: ${error.message}`);
  }
  if (error.isRefused) {
    return DeliveryOutcome.failed(`Sluice refused to send the message to Slack: ${error.message}`);
  }
  return DeliveryOutcome.failed(`the request to Slack failed: ${error.message}`);
}

// ---------------------------------------------------------------------------
// Block Kit messages

/**
 * The message for `event`: `{ text, blocks }` with a header, the event's
 * facts as fields, and a context line. Orders, products and inventory get
 * fields of their own; any other event shows its payload's top-level
 * scalar values. A payload missing expected fields still renders, with what
 * it has.
 */
function render(event) {
  let payload;
  try {
    const parsed = JSON.parse(event.payload);
    payload = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : undefined;
  } catch {
    payload = undefined;
  }
  const family = event.eventType.split('.')[0];
  const action = event.eventType.split('.').pop().replace(/[_-]/g, ' ');
  let layout;
  if (payload && family === 'order') {
    layout = order(payload, action);
  } else if (payload && family === 'product') {
    layout = product(payload, action);
  } else if (payload && family === 'inventory') {
    layout = inventory(payload, action);
  } else {
    layout = generic(event.eventType, payload);
  }
  const blocks = [
    { type: 'header', text: { type: 'plain_text', text: cut(layout.header, MAX_HEADER_CHARS), emoji: true } },
  ];
  const fields = layout.fields.slice(0, MAX_FIELDS).map(([label, value]) => ({
    type: 'mrkdwn',
    text: `*${mrkdwn(label, MAX_LABEL_CHARS)}*\n${mrkdwn(value, MAX_VALUE_CHARS)}`,
  }));
  if (fields.length > 0) {
    blocks.push({ type: 'section', fields });
  }
  blocks.push({
    type: 'context',
    elements: [`Store \`${event.storeId}\``, `Event \`${event.id}\``, event.occurredAt].map((text) => ({
      type: 'mrkdwn',
      text: mrkdwn(text, MAX_CONTEXT_CHARS),
    })),
  });
  return { text: mrkdwn(layout.title, MAX_CONTEXT_CHARS), blocks };
}

function order(payload, action) {
  const id = text(payload, 'order_id');
  const title = id ? `Order ${id} ${action}` : `Order ${action}`;
  return {
    title,
    header: `🛒 ${title}`,
    fields: present([
      ['Marketplace', text(payload, 'marketplace')],
      ['Status', text(payload, 'status')],
      ['Total', money(payload.total)],
      ['Purchased', text(payload, 'purchased_at')],
      ['Updated', text(payload, 'updated_at')],
      ['Carrier', text(payload, 'carrier')],
      ['Tracking number', text(payload, 'tracking_number')],
      ['Items', lineItems(payload.line_items)],
    ]),
  };
}

function product(payload, action) {
  const name = text(payload, 'title') ?? text(payload, 'sku');
  const title = name ? `Product ${action}: ${name}` : `Product ${action}`;
  return {
    title,
    header: `🏷️ ${title}`,
    fields: present([
      ['SKU', text(payload, 'sku')],
      ['Price', money(payload.price)],
      ['Quantity', text(payload, 'quantity')],
      ['Brand', text(payload, 'brand')],
      ['Condition', text(payload, 'condition')],
    ]),
  };
}

function inventory(payload, action) {
  const sku = text(payload, 'sku');
  const title = sku ? `Inventory of ${sku} ${action}` : `Inventory ${action}`;
  const quantity = payload.quantity === 0 ? '0 (out of stock)' : text(payload, 'quantity');
  return {
    title,
    header: `📦 ${title}`,
    fields: present([
      ['SKU', sku],
      ['Quantity', quantity],
      ['Location', text(payload, 'location')],
    ]),
  };
}

/** Any other event: the type as header, the payload's top-level scalar values as fields. */
function generic(eventType, payload) {
  const fields = Object.entries(payload ?? {})
    .map(([key, value]) => [key, scalar(value)])
    .filter(([, value]) => value !== undefined);
  return { title: eventType, header: eventType, fields };
}

/** `2 × TSHIRT-RED-M, 1 × MUG-BLUE` from an order's line items. */
function lineItems(items) {
  if (!Array.isArray(items)) {
    return undefined;
  }
  const lines = items
    .filter((item) => item !== null && typeof item === 'object')
    .map((item) => `${text(item, 'quantity') ?? '?'} × ${text(item, 'sku') ?? text(item, 'line_item_id') ?? 'an item'}`);
  return lines.length > 0 ? lines.join(', ') : undefined;
}

/** A string, number or boolean as text; `undefined` for anything else or an empty string. */
function scalar(value) {
  if (typeof value === 'string') {
    return value === '' ? undefined : value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  return undefined;
}

function text(object, key) {
  return scalar(object[key]);
}

/** `{"amount": "19.99", "currency": "USD"}` as `19.99 USD`. */
function money(value) {
  if (value === null || typeof value !== 'object') {
    return undefined;
  }
  const amount = text(value, 'amount');
  const currency = text(value, 'currency');
  return amount === undefined ? undefined : currency ? `${amount} ${currency}` : amount;
}

/** The `[label, value]` pairs whose value is present. */
function present(fields) {
  return fields.filter(([, value]) => value !== undefined);
}

/**
 * `value` as mrkdwn text of at most `max` characters: the three characters
 * mrkdwn gives a meaning to escaped, then cut (never inside an `&amp;`-style
 * entity), ending with `…` when cut.
 */
function mrkdwn(value, max) {
  const escaped = value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const chars = Array.from(escaped);
  if (chars.length <= max) {
    return escaped;
  }
  let kept = chars.slice(0, max - 1).join('');
  const entity = kept.lastIndexOf('&');
  if (entity >= 0 && !kept.slice(entity).includes(';')) {
    kept = kept.slice(0, entity);
  }
  return `${kept}…`;
}

/** `value` cut to `max` characters, ending with `…` when cut. */
function cut(value, max) {
  const chars = Array.from(value);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : value;
}
