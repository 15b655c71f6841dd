import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { host } from '../testing/host.js';
import { AuthError, HOST_AUTH_ERROR_HEADER, HostAuthFailure, HostAuthReason, Response, requestHeader } from '../src/index.js';

beforeEach(() => host.reset());

test("the host's refusal carries the token endpoint's error", () => {
  const response = new Response(
    401,
    [[HOST_AUTH_ERROR_HEADER, 'token-refused']],
    JSON.stringify({
      error: 'token-refused',
      error_description:
        "the host could not obtain an access token for credential 'refresh_token': the token endpoint answered 400: invalid_grant",
      token_endpoint: { status: 400, error: 'invalid_grant', error_description: 'revoked' },
    }),
  );
  const failure = HostAuthFailure.fromResponse(response);
  assert.equal(failure.reason, HostAuthReason.TokenRefused);
  assert.equal(failure.tokenError(), 'invalid_grant');
  assert.deepEqual(failure.tokenEndpoint, { status: 400, error: 'invalid_grant', description: 'revoked' });
  assert.ok(!failure.isRetryable);
  assert.match(String(failure), /credential 'refresh_token'/);
});

test('a failing token endpoint is retryable', () => {
  const failure = HostAuthFailure.fromResponse(
    new Response(
      503,
      [['Sluice-Auth-Error', 'token-endpoint-failed']],
      '{"error":"token-endpoint-failed","error_description":"connection refused"}',
    ),
  );
  assert.equal(failure.reason, HostAuthReason.TokenEndpointFailed);
  assert.ok(failure.isRetryable);
  assert.equal(failure.toString(), 'connection refused');
  assert.equal(failure.tokenEndpoint, undefined);
  assert.equal(failure.tokenError(), undefined);
});

test('an unreadable credential is not retryable and a text answer is its own description', () => {
  const failure = HostAuthFailure.fromResponse(
    new Response(401, [[HOST_AUTH_ERROR_HEADER, 'credential-unreadable']], 'not a service account key'),
  );
  assert.equal(failure.reason, HostAuthReason.CredentialUnreadable);
  assert.ok(!failure.isRetryable);
  assert.equal(failure.description, 'not a service account key');
});

test("a remote 401 is not the host's answer", () => {
  assert.equal(HostAuthFailure.fromResponse(new Response(401, [], '{}')), undefined);
});

test('an empty error code from the token endpoint counts as none', () => {
  const failure = HostAuthFailure.fromResponse(
    new Response(401, [[HOST_AUTH_ERROR_HEADER, 'token-refused']], '{"token_endpoint":{"status":500}}'),
  );
  assert.equal(failure.tokenError(), undefined);
  assert.equal(failure.tokenEndpoint.status, 500);
});

test('requestHeader names the credential the host cannot apply', () => {
  assert.throws(() => requestHeader('api_key'), (error) => {
    assert.ok(error instanceof AuthError);
    assert.equal(error.reason, 'not-host-managed');
    assert.equal(error.key, 'api_key');
    return true;
  });
  host.applied.set('api_key', undefined);
  assert.throws(() => requestHeader('api_key'), { reason: 'not-configured', message: "credential 'api_key' is not set in this configuration" });
  host.applied.set('api_key', 'set');
  assert.deepEqual(requestHeader('api_key'), ['sluice-auth', 'api_key']);
});
