// Unit tests of the outcome mapping, under Node: `npm test`. The component
// itself runs with `sluice connector check connector.wasm`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Response } from '@sluice/guest';

import { outcome } from './connector.js';

test('a 2xx is delivered', () => {
  assert.equal(outcome(new Response(202, [], 'accepted'), 0).tag, 'delivered');
});

test('a 429 retries after the seconds it asks for', () => {
  const retry = outcome(new Response(429, [['retry-after', '7']], 'slow down'), 0);
  assert.equal(retry.tag, 'retry');
  assert.equal(retry.val.afterSeconds, 7);
});

test('a 5xx retries and a 4xx fails with the remote error', () => {
  assert.equal(outcome(new Response(503), 0).tag, 'retry');
  const failure = outcome(new Response(422, [], 'bad field'), 0);
  assert.equal(failure.tag, 'failed');
  assert.equal(failure.val.remote.status, 422);
  assert.equal(failure.val.remote.message, 'bad field');
});
