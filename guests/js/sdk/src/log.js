/**
 * Structured, levelled logging into the invocation report.
 *
 * ```js
 * log.info('message posted', { channel, ts });
 * ```
 *
 * The host bounds the number and size of records kept per invocation. Never
 * log a credential.
 *
 * @module
 */

import { writeLog } from './bindings.js';

/**
 * Severity of a log record.
 *
 * @typedef {'trace' | 'debug' | 'info' | 'warn' | 'error'} Level
 */

/**
 * Records `message` at `level` with structured `fields`; each value is
 * written as text (`String(value)`, objects as JSON).
 *
 * @param {Level} level
 * @param {string} message
 * @param {Record<string, unknown>} [fields]
 */
export function write(level, message, fields = {}) {
  writeLog(
    level,
    message,
    Object.entries(fields).map(([key, value]) => [key, text(value)]),
  );
}

/** Records `message` at level `trace`. @param {string} message @param {Record<string, unknown>} [fields] */
export function trace(message, fields) {
  write('trace', message, fields);
}

/** Records `message` at level `debug`. @param {string} message @param {Record<string, unknown>} [fields] */
export function debug(message, fields) {
  write('debug', message, fields);
}

/** Records `message` at level `info`. @param {string} message @param {Record<string, unknown>} [fields] */
export function info(message, fields) {
  write('info', message, fields);
}

/** Records `message` at level `warn`. @param {string} message @param {Record<string, unknown>} [fields] */
export function warn(message, fields) {
  write('warn', message, fields);
}

/** Records `message` at level `error`. @param {string} message @param {Record<string, unknown>} [fields] */
export function error(message, fields) {
  write('error', message, fields);
}

function text(value) {
  if (typeof value === 'string') {
    return value;
  }
  if (value !== null && typeof value === 'object') {
    try {
      return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v));
    } catch {
      // A cycle: fall through to String().
    }
  }
  return String(value);
}
