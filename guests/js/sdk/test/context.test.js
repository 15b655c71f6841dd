import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Context, MissingField, defineConnection, defineDeliverer } from '../src/index.js';

function raw(settings) {
  return {
    storeId: 'store_1',
    configurationId: 'cfg_1',
    deliveryId: 'dlv_1',
    attempt: 2,
    settings,
    nowMs: 1_767_225_600_123n,
  };
}

test('setting finds the value by key', () => {
  const context = new Context(raw([['mode', 'bot'], ['channel', 'C1']]));
  assert.equal(context.setting('channel'), 'C1');
  assert.equal(context.setting('absent'), undefined);
});

test('an empty setting counts as missing', () => {
  const context = new Context(raw([['channel', '']]));
  assert.equal(context.setting('channel'), undefined);
  assert.throws(() => context.requireSetting('channel'), (error) => {
    assert.ok(error instanceof MissingField);
    assert.equal(error.message, 'setting `channel` is not set');
    assert.equal(error.source, 'setting');
    return true;
  });
});

test('a missing credential names the key', () => {
  assert.equal(MissingField.credential('bot_token').message, 'credential `bot_token` is not set');
});

test("the host's u64 time becomes a number of milliseconds", () => {
  const context = new Context(raw([]));
  assert.equal(context.nowMs, 1_767_225_600_123);
  assert.equal(context.attempt, 2);
  assert.equal(context.deliveryId, 'dlv_1');
});

test('the define helpers hand the export a Context and return its answer', () => {
  let seen;
  const deliverer = defineDeliverer((context, event) => {
    seen = [context, event];
    return 'outcome';
  });
  const event = { id: 'evt_1' };
  assert.equal(deliverer.deliver(raw([['url', 'https://example.com']]), event), 'outcome');
  assert.ok(seen[0] instanceof Context);
  assert.equal(seen[0].setting('url'), 'https://example.com');
  assert.equal(seen[1], event);

  const connection = defineConnection((context) => context.configurationId);
  assert.equal(connection.testConnection(raw([])), 'cfg_1');
});
