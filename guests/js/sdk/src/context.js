/**
 * The invocation context: who is being run and why, and the
 * configuration's settings.
 *
 * @module
 */

/**
 * Who is being run and why, as the host passes it to every export, with
 * settings lookup. The `define*` helpers of this package wrap the raw
 * context in one.
 */
export class Context {
  /**
   * @param {{ storeId: string, configurationId: string, deliveryId?: string, attempt: number,
   *   settings: Array<[string, string]>, nowMs: bigint | number }} raw the context as the bindings give it
   */
  constructor(raw) {
    /** @type {string} The store (tenant) whose configuration is running. */
    this.storeId = raw.storeId;
    /** @type {string} The configuration being run; credentials and state are scoped to it. */
    this.configurationId = raw.configurationId;
    /** @type {string | undefined} The delivery being attempted, when the call is a delivery. */
    this.deliveryId = raw.deliveryId;
    /** @type {number} Attempt number, from 1; 0 when the call is not a delivery. */
    this.attempt = raw.attempt;
    /**
     * @type {Array<[string, string]>} The settings as declared in the
     * manifest; booleans are `true` or `false`, absent optional settings
     * are left out.
     */
    this.settings = raw.settings;
    /**
     * @type {number} The host's current time, unix milliseconds. Use it
     * instead of `Date.now()` so that tests control time.
     */
    this.nowMs = Number(raw.nowMs);
  }

  /**
   * The value of setting `key`, or `undefined` when the configuration
   * leaves it out or sets it to an empty string.
   *
   * @param {string} key
   * @returns {string | undefined}
   */
  setting(key) {
    const value = this.settings.find(([name]) => name === key)?.[1];
    return value === '' ? undefined : value;
  }

  /**
   * The value of setting `key`.
   *
   * @param {string} key
   * @returns {string}
   * @throws {MissingField} naming the setting when {@link Context#setting} finds nothing
   */
  requireSetting(key) {
    const value = this.setting(key);
    if (value === undefined) {
      throw MissingField.setting(key);
    }
    return value;
  }
}

/**
 * A setting or credential the connector needs but the configuration does
 * not supply. Its message names the field, for example
 * ``credential `bot_token` is not set``.
 */
export class MissingField extends Error {
  /**
   * @param {'setting' | 'credential'} source whether it is a setting or a credential
   * @param {string} key the field's key, as declared in the manifest
   */
  constructor(source, key) {
    super(`${source} \`${key}\` is not set`);
    this.name = 'MissingField';
    /** @type {'setting' | 'credential'} */
    this.source = source;
    /** @type {string} */
    this.key = key;
  }

  /** A missing setting. @param {string} key @returns {MissingField} */
  static setting(key) {
    return new MissingField('setting', key);
  }

  /** A missing credential. @param {string} key @returns {MissingField} */
  static credential(key) {
    return new MissingField('credential', key);
  }
}
