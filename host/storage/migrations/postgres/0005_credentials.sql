-- API credentials of external consumers (API keys and OAuth 2.0
-- client-credentials clients), the short-lived access tokens issued to
-- clients, and the audit log of every credential-management action.
-- Keep in step with ../sqlite/0005_credentials.sql.

-- A store's credential. `public_id` is the part of a key that is not secret
-- (`sk_<hex>`, shown as the key prefix) or the OAuth client id
-- (`cli_<hex>`); it finds the row. `secret_hash` is an argon2id PHC string
-- of the secret: the secret itself is never stored.
CREATE TABLE api_credentials (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('api_key', 'oauth_client')),
    name TEXT NOT NULL,
    public_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    -- JSON array of `{resource}:{action}` scopes.
    scopes TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    expires_at BIGINT,
    -- Written in coalesced batches, not on every use.
    last_used_at BIGINT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    rotated_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_credentials_by_store ON api_credentials (store_id, id);

-- Access tokens issued by the token endpoint, by the SHA-256 of the token
-- (random and long, so a fast hash is enough). A token is valid only while
-- its credential is active and unexpired.
CREATE TABLE credential_tokens (
    token_hash TEXT PRIMARY KEY,
    credential_id TEXT NOT NULL REFERENCES api_credentials (id) ON DELETE CASCADE,
    store_id TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX credential_tokens_by_expiry ON credential_tokens (expires_at);

-- Who did what to which credential, and when. Ids are time-ordered.
CREATE TABLE credential_audit (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    -- JSON object with what changed (name, kind, scopes, expiry), never a secret.
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX credential_audit_by_store ON credential_audit (store_id, id);
