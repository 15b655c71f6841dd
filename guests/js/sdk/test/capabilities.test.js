import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { host } from '../testing/host.js';
import { MissingField, credentials, log, state } from '../src/index.js';

beforeEach(() => host.reset());

const bytes = (text) => new TextEncoder().encode(text);

test('credentials: an empty value counts as unset, and require names the key', () => {
  host.readable.set('api_key', 'k-123');
  host.readable.set('blank', '');
  assert.equal(credentials.get('api_key'), 'k-123');
  assert.equal(credentials.get('blank'), undefined);
  assert.equal(credentials.get('absent'), undefined);
  assert.throws(() => credentials.require('blank'), (error) => {
    assert.ok(error instanceof MissingField);
    assert.equal(error.message, 'credential `blank` is not set');
    return true;
  });
});

test('state: text round-trips and bytes that are not UTF-8 read as absent', () => {
  state.set('cursor', 'page-2', 600);
  assert.equal(state.getString('cursor'), 'page-2');
  assert.equal(host.ttls.get('cursor'), 600);
  assert.deepEqual(state.get('cursor'), bytes('page-2'));
  host.state.set('binary', new Uint8Array([0xff, 0xfe]));
  assert.equal(state.getString('binary'), undefined);
  state.remove('cursor');
  assert.equal(state.get('cursor'), undefined);
});

test('state: a refused write throws a StateError with the reason', () => {
  host.refuseWrites = 'quota-exceeded';
  assert.throws(() => state.set('k', 'v'), (error) => {
    assert.ok(error instanceof state.StateError);
    assert.equal(error.reason, 'quota-exceeded');
    assert.ok(!error.isRetryable);
    return true;
  });
  host.refuseWrites = 'unavailable';
  assert.throws(() => state.set('k', 'v'), { isRetryable: true });
});

test('cachedToken fetches once and keeps the token until the margin before expiry', () => {
  let fetches = 0;
  const fetch = () => {
    fetches += 1;
    return { token: `token-${fetches}`, expiresIn: 3600 };
  };
  assert.equal(state.cachedToken('access_token', fetch), 'token-1');
  assert.equal(state.cachedToken('access_token', fetch), 'token-1');
  assert.equal(fetches, 1);
  assert.equal(host.ttls.get('access_token'), 3600 - state.TOKEN_EXPIRY_MARGIN_SECONDS);

  state.invalidateToken('access_token');
  assert.equal(state.cachedToken('access_token', fetch), 'token-2');
});

test('cachedToken uses but does not cache a token living less than the margin', () => {
  const token = state.cachedToken('access_token', () => ({ token: 'short', expiresIn: state.TOKEN_EXPIRY_MARGIN_SECONDS }));
  assert.equal(token, 'short');
  assert.equal(host.state.has('access_token'), false);
});

test('cachedToken still answers when the host cannot keep the token, and says so', () => {
  host.refuseWrites = 'value-too-large';
  assert.equal(state.cachedToken('access_token', () => ({ token: 't', expiresIn: 3600 })), 't');
  assert.deepEqual(host.logs, [['warn', 'could not cache the access token', [['key', 'access_token'], ['error', 'value-too-large']]]]);
});

test('log writes every field as text', () => {
  log.info('message posted', { channel: 'C1', attempt: 2, ok: true, details: { ts: '1.2' }, size: 3n });
  log.error('failed');
  assert.deepEqual(host.logs, [
    ['info', 'message posted', [['channel', 'C1'], ['attempt', '2'], ['ok', 'true'], ['details', '{"ts":"1.2"}'], ['size', '3']]],
    ['error', 'failed', []],
  ]);
});
