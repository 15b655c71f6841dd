import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatRfc3339, parseHttpDate, parseRfc3339Ms, retryAfterSeconds } from '../src/time.js';

/** 2026-10-21T07:28:00Z. */
const OCT_21_2026 = 1_792_567_680;

test('Retry-After in seconds is taken as is', () => {
  assert.equal(retryAfterSeconds('120', 0), 120);
  assert.equal(retryAfterSeconds(' 3 ', 0), 3);
});

test('Retry-After seconds beyond u32 saturate', () => {
  assert.equal(retryAfterSeconds('99999999999999999999', 0), 0xffff_ffff);
});

test('Retry-After as a date counts from now', () => {
  const nowMs = (OCT_21_2026 - 90) * 1000;
  assert.equal(retryAfterSeconds('Wed, 21 Oct 2026 07:28:00 GMT', nowMs), 90);
});

test('Retry-After in the past means no delay', () => {
  const nowMs = (OCT_21_2026 + 5) * 1000;
  assert.equal(retryAfterSeconds('Wed, 21 Oct 2026 07:28:00 GMT', nowMs), 0);
});

test('Retry-After refuses garbage', () => {
  for (const value of ['soon', '', '-5', '1.5']) {
    assert.equal(retryAfterSeconds(value, 0), undefined, value);
  }
});

test('HTTP dates parse to unix seconds', () => {
  assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), 784_111_777);
  assert.equal(parseHttpDate('Thu, 01 Jan 1970 00:00:00 GMT'), 0);
  assert.equal(parseHttpDate('Thu, 29 Feb 2024 12:00:00 GMT'), 1_709_208_000);
});

test('malformed HTTP dates are refused', () => {
  for (const text of [
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sunday, 06-Nov-94 08:49:37 GMT',
    'Sun Nov  6 08:49:37 1994',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 31 Nov 1994 08:49:37 GMT',
    'Sun, 29 Feb 2023 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Xyz, 06 Nov 1994 08:49:37 GMT',
  ]) {
    assert.equal(parseHttpDate(text), undefined, text);
  }
});

test('RFC 3339 UTC, offsets and fractions are read', () => {
  assert.equal(parseRfc3339Ms('1970-01-01T00:00:00Z'), 0);
  assert.equal(parseRfc3339Ms('2023-11-14T22:13:20Z'), 1_700_000_000_000);
  assert.equal(parseRfc3339Ms('2023-11-14T22:13:20.5Z'), 1_700_000_000_500);
  assert.equal(parseRfc3339Ms('2023-11-14T23:13:20.123+01:00'), 1_700_000_000_123);
  assert.equal(parseRfc3339Ms('2025-12-31T23:00:00-01:00'), 1_767_225_600_000);
  assert.equal(parseRfc3339Ms('2026-01-01T00:00:00.123456Z'), 1_767_225_600_123);
  assert.equal(parseRfc3339Ms('2024-02-29t12:00:00z'), 1_709_208_000_000);
  assert.equal(parseRfc3339Ms('1969-12-31T23:59:59Z'), -1_000);
});

test('malformed RFC 3339 timestamps are refused', () => {
  for (const text of [
    '',
    'soon',
    '2026-01-01',
    '2026-01-01 00:00:00Z',
    '2023-13-14T22:13:20Z',
    '2026-02-30T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:00',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00+0200',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+02:00x',
    '2026-1-01T00:00:00Z',
  ]) {
    assert.equal(parseRfc3339Ms(text), undefined, text);
  }
});

test('RFC 3339 formats UTC', () => {
  assert.equal(formatRfc3339(0), '1970-01-01T00:00:00Z');
  assert.equal(formatRfc3339(784_111_777), '1994-11-06T08:49:37Z');
  assert.equal(formatRfc3339(1_709_208_000), '2024-02-29T12:00:00Z');
  assert.equal(formatRfc3339(OCT_21_2026), '2026-10-21T07:28:00Z');
});
