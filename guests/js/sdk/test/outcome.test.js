import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ConnectionCheck,
  DeliveryOutcome,
  HttpError,
  HttpErrorKind,
  MAX_REMOTE_MESSAGE_CHARS,
  RemoteError,
} from '../src/index.js';

test('outcomes have the shape the bindings take', () => {
  assert.deepEqual(DeliveryOutcome.delivered('1.2'), { tag: 'delivered', val: { externalId: '1.2' } });
  assert.deepEqual(DeliveryOutcome.delivered(), { tag: 'delivered', val: { externalId: undefined } });
  const remote = RemoteError.http(429, { code: 'ratelimited' });
  assert.deepEqual(DeliveryOutcome.retry('slow down', { afterSeconds: 30, remote }), {
    tag: 'retry',
    val: { reason: 'slow down', afterSeconds: 30, remote: { status: 429, code: 'ratelimited', message: undefined } },
  });
  assert.deepEqual(DeliveryOutcome.failed('gone'), { tag: 'failed', val: { reason: 'gone', remote: undefined } });
});

test('remote messages are cut on a character boundary', () => {
  const long = '😀'.repeat(MAX_REMOTE_MESSAGE_CHARS + 10);
  const message = RemoteError.http(500, { message: long }).message;
  assert.equal(Array.from(message).length, MAX_REMOTE_MESSAGE_CHARS + 1);
  assert.ok(message.endsWith('…'));
  assert.ok(message.startsWith('😀'));
  assert.equal(RemoteError.http(500, { message: 'boom' }).message, 'boom');
});

test('refused requests fail permanently and network errors retry', () => {
  const refused = DeliveryOutcome.fromHttpError(new HttpError(HttpErrorKind.Refused, 'HTTP-request-denied'));
  assert.equal(refused.tag, 'failed');
  assert.match(refused.val.reason, /HTTP-request-denied/);
  const timeout = DeliveryOutcome.fromHttpError(new HttpError(HttpErrorKind.Timeout, 'connection-timeout'));
  assert.equal(timeout.tag, 'retry');
  assert.equal(timeout.val.afterSeconds, undefined);
});

test('connection checks take steps as pairs or an object', () => {
  assert.deepEqual(ConnectionCheck.ok('fine', { token: 'accepted', channel: 'C1' }), {
    status: 'ok',
    message: 'fine',
    steps: [
      ['token', 'accepted'],
      ['channel', 'C1'],
    ],
  });
  assert.deepEqual(ConnectionCheck.misconfigured('set `url`', [['url', 'missing']]).steps, [['url', 'missing']]);
  assert.deepEqual(ConnectionCheck.unauthorized('no').steps, []);
  assert.equal(ConnectionCheck.unreachable('down').status, 'unreachable');
});

test('a check whose request failed reports the remote system unreachable', () => {
  const check = ConnectionCheck.fromHttpError(new HttpError(HttpErrorKind.Dns, 'DNS-timeout'));
  assert.equal(check.status, 'unreachable');
  assert.equal(check.message, 'could not reach the remote system: DNS lookup failed: DNS-timeout');
});
