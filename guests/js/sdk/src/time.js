/**
 * Dates and delays: `Retry-After`, HTTP dates and RFC 3339 timestamps.
 *
 * Connectors take the current time from the invocation context
 * (`context.nowMs`), never from their own clock, so that tests control it.
 *
 * @module
 */

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The largest delay a connector can ask for (a WIT `u32`). */
export const MAX_DELAY_SECONDS = 0xffff_ffff;

/**
 * The delay a `Retry-After` header asks for, in seconds from `nowMs` (unix
 * milliseconds, the invocation context's `nowMs`).
 *
 * Accepts both forms of RFC 9110: a number of seconds (`120`) and an HTTP
 * date (`Wed, 21 Oct 2026 07:28:00 GMT`); a date in the past means no delay.
 * Delays beyond {@link MAX_DELAY_SECONDS} are capped to it.
 *
 * @param {string} value the header's value
 * @param {number} nowMs the current time, unix milliseconds
 * @returns {number | undefined} whole seconds, or `undefined` when the value is neither form
 */
export function retryAfterSeconds(value, nowMs) {
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) {
    return Math.min(Number(text), MAX_DELAY_SECONDS);
  }
  const at = parseHttpDate(text);
  if (at === undefined) {
    return undefined;
  }
  const now = Math.floor(nowMs / 1000);
  return Math.min(Math.max(at - now, 0), MAX_DELAY_SECONDS);
}

/**
 * Parses an HTTP date in the preferred IMF-fixdate form,
 * `Sun, 06 Nov 1994 08:49:37 GMT`, into unix seconds.
 *
 * @param {string} text
 * @returns {number | undefined} unix seconds, or `undefined` when `text` is not such a date
 */
export function parseHttpDate(text) {
  const match = /^([A-Z][a-z]{2}), ([0-9]{2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT$/.exec(text);
  if (!match || !WEEKDAYS.includes(match[1])) {
    return undefined;
  }
  const month = MONTHS.indexOf(match[3]) + 1;
  const [day, year, hour, minute, second] = [match[2], match[4], match[5], match[6], match[7]].map(Number);
  if (month === 0 || !validDateTime(year, month, day, hour, minute, second)) {
    return undefined;
  }
  return daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second;
}

/**
 * Unix milliseconds of an RFC 3339 timestamp (`2026-05-01T12:00:00Z`,
 * `2026-05-01T14:00:00.250+02:00`).
 *
 * The date and time must be valid (no 30 February, no hour 24; a leap second
 * `:60` is accepted), `T` (or `t`) separates them, and the offset is `Z` (or
 * `z`) or `±hh:mm`. Fractions of a second are read to the millisecond and cut
 * beyond it.
 *
 * @param {string} text
 * @returns {number | undefined} unix milliseconds, or `undefined` when `text` is not one
 */
export function parseRfc3339Ms(text) {
  const match =
    /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))$/.exec(
      text,
    );
  if (!match) {
    return undefined;
  }
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  if (!validDateTime(year, month, day, hour, minute, second)) {
    return undefined;
  }
  const millis = match[7] === undefined ? 0 : Number(match[7].slice(0, 3).padEnd(3, '0'));
  let offsetMinutes = 0;
  if (match[8] === undefined) {
    const [hours, minutes] = [Number(match[10]), Number(match[11])];
    if (hours > 23 || minutes > 59) {
      return undefined;
    }
    offsetMinutes = (match[9] === '+' ? 1 : -1) * (hours * 60 + minutes);
  }
  const seconds =
    daysFromCivil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60;
  return seconds * 1_000 + millis;
}

/**
 * Formats unix seconds as an RFC 3339 UTC timestamp, `2026-11-22T10:15:00Z`.
 *
 * @param {number} unixSeconds
 * @returns {string}
 */
export function formatRfc3339(unixSeconds) {
  const [year, month, day] = civilFromDays(Math.floor(unixSeconds / 86_400));
  const seconds = unixSeconds % 86_400;
  const two = (n) => String(n).padStart(2, '0');
  return (
    `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}` +
    `T${two(Math.floor(seconds / 3_600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}Z`
  );
}

function validDateTime(year, month, day, hour, minute, second) {
  return (
    month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23 && minute <= 59 && second <= 60
  );
}

function daysInMonth(year, month) {
  if (month === 2) {
    return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`). */
function daysFromCivil(year, month, day) {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const monthFromMarch = (month + 9) % 12;
  const dayOfYear = Math.floor((153 * monthFromMarch + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`). */
function civilFromDays(days) {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1_460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}
