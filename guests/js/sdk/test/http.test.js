import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { host } from '../testing/host.js';
import { HttpError, HttpErrorKind, Request, Response } from '../src/index.js';
import { parseTarget } from '../src/http/url.js';

beforeEach(() => host.reset());

test('policy refusals are refused and not retryable', () => {
  for (const tag of ['HTTP-request-denied', 'destination-IP-prohibited', 'connection-limit-reached']) {
    const error = HttpError.fromErrorCode({ tag });
    assert.equal(error.kind, HttpErrorKind.Refused, tag);
    assert.ok(error.isRefused, tag);
    assert.ok(!error.isRetryable, tag);
  }
});

test("the error's message names the host's error code", () => {
  const error = HttpError.fromErrorCode({ tag: 'destination-IP-prohibited' });
  assert.equal(error.message, "request refused by the host's egress policy: destination-IP-prohibited");
  assert.ok(error instanceof Error);
});

test('network trouble is retryable', () => {
  for (const code of [
    { tag: 'DNS-timeout' },
    { tag: 'connection-refused' },
    { tag: 'connection-timeout' },
    { tag: 'TLS-certificate-error' },
    { tag: 'internal-error', val: 'reset' },
  ]) {
    assert.ok(HttpError.fromErrorCode(code).isRetryable, code.tag);
  }
});

test('an oversized response is not retryable and keeps its size', () => {
  const error = HttpError.fromErrorCode({ tag: 'HTTP-response-body-size', val: 1024n });
  assert.equal(error.kind, HttpErrorKind.ResponseTooLarge);
  assert.ok(!error.isRetryable);
  assert.equal(error.detail, 'HTTP-response-body-size(1024)');
});

test('an unknown error code is a protocol error', () => {
  assert.equal(HttpError.fromErrorCode({ tag: 'something-new' }).kind, HttpErrorKind.Protocol);
});

test('URLs split into scheme, authority and path', () => {
  assert.deepEqual(parseTarget('https://hooks.slack.com/services/T1/B2/x?a=1#frag'), {
    https: true,
    authority: 'hooks.slack.com',
    pathWithQuery: '/services/T1/B2/x?a=1',
  });
  assert.deepEqual(parseTarget('HTTP://127.0.0.1:8080'), { https: false, authority: '127.0.0.1:8080', pathWithQuery: '/' });
  assert.deepEqual(parseTarget('https://example.com?q=1'), {
    https: true,
    authority: 'example.com',
    pathWithQuery: '/?q=1',
  });
  assert.equal(parseTarget('https://example.com/a%20b').pathWithQuery, '/a%20b');
});

test('URLs that cannot be sent are refused with the reason', () => {
  for (const [url, reason] of [
    ['/relative', 'is not absolute'],
    ['ftp://example.com/', 'is not http or https'],
    ['https:///path', 'has no host'],
    ['https://user:pw@example.com/', 'carries user info'],
    ['https://example.com/a b', 'whitespace or control characters'],
  ]) {
    assert.throws(() => parseTarget(url), { message: new RegExp(reason) }, url);
  }
});

test('a malformed URL fails the send as an invalid request, before anything is sent', () => {
  assert.throws(() => Request.post('hooks.slack.com').send(), (error) => {
    assert.ok(error instanceof HttpError);
    assert.equal(error.kind, HttpErrorKind.InvalidRequest);
    assert.match(error.message, /is not absolute/);
    return true;
  });
});

test('a credential the host does not apply fails the send naming it', () => {
  assert.throws(() => Request.post('https://hooks.slack.com/').authenticated('webhook_url').json({}).send(), {
    name: 'HttpError',
    kind: HttpErrorKind.InvalidRequest,
    message: "invalid request: credential 'webhook_url' is not applied by the host: the manifest gives it no [credentials.auth] table",
  });
  host.applied.set('webhook_url', undefined);
  assert.throws(() => Request.post('https://hooks.slack.com/').authenticated('webhook_url').send(), {
    message: "invalid request: credential 'webhook_url' is not set in this configuration",
  });
});

test('authenticated adds the header the host gives', () => {
  host.applied.set('bot_token', 'set');
  const request = Request.post('https://slack.com/api/chat.postMessage').authenticated('bot_token');
  assert.deepEqual(request.headers, [['sluice-auth', 'bot_token']]);
  assert.equal(request.invalid, undefined);
});

test('json sets the body and its content type', () => {
  const request = Request.post('https://example.com/').json({ text: 'héllo' });
  assert.deepEqual(request.headers, [['content-type', 'application/json; charset=utf-8']]);
  assert.equal(new TextDecoder().decode(request.bodyBytes), '{"text":"héllo"}');
});

test('a value JSON cannot serialise fails the send', () => {
  const cyclic = {};
  cyclic.self = cyclic;
  assert.throws(() => Request.post('https://example.com/').json(cyclic).send(), {
    kind: HttpErrorKind.InvalidRequest,
    message: /the JSON body cannot be serialised/,
  });
});

test('responses read headers in any case, text, JSON and Retry-After', () => {
  const response = new Response(429, [['Retry-After', '7'], ['Content-Type', 'application/json']], '{"ok":false}');
  assert.equal(response.header('retry-after'), '7');
  assert.equal(response.header('CONTENT-TYPE'), 'application/json');
  assert.equal(response.header('absent'), undefined);
  assert.equal(response.retryAfter(0), 7);
  assert.deepEqual(response.json(), { ok: false });
  assert.ok(!response.isSuccess);
  assert.ok(new Response(204).isSuccess);
  assert.equal(new Response(200, [], new Uint8Array([0x6f, 0x6b])).text(), 'ok');
  assert.equal(new Response(503, [['retry-after', 'soon']]).retryAfter(0), undefined);
});
