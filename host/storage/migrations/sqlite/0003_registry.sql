-- The connector registry, SQLite dialect. Keep in step with
-- ../postgres/0003_registry.sql.

-- Every package ever installed, by the SHA-256 of its bytes. The bytes live
-- in the database so that every node of a cluster can load any version.
CREATE TABLE connector_packages (
    digest TEXT PRIMARY KEY NOT NULL,
    bytes BLOB NOT NULL,
    created_at BIGINT NOT NULL
);

-- The installed versions of each connector. A version stays until deleted,
-- so rollback needs nothing from outside. `state` is 'available' or
-- 'pending_approval' (waiting for an operator to approve `diff`, whose hash
-- is `diff_hash`); which version is active is `connector_heads`' business.
CREATE TABLE connector_versions (
    connector_id TEXT NOT NULL,
    version TEXT NOT NULL,
    package_digest TEXT NOT NULL REFERENCES connector_packages (digest),
    component_digest TEXT NOT NULL,
    -- The signers' key ids, or who vouched for an unsigned package.
    publisher TEXT NOT NULL,
    trust TEXT NOT NULL CHECK (trust IN ('signed', 'bundled', 'unsigned')),
    state TEXT NOT NULL CHECK (state IN ('available', 'pending_approval')),
    diff TEXT,
    diff_hash TEXT,
    -- The hash of the last diff an operator approved for this version.
    approved_diff_hash TEXT,
    installed_by TEXT NOT NULL,
    installed_at BIGINT NOT NULL,
    approved_by TEXT,
    approved_at BIGINT,
    PRIMARY KEY (connector_id, version)
);
CREATE UNIQUE INDEX connector_versions_by_package ON connector_versions (package_digest);

-- Which version of each connector runs. Every change bumps `generation`;
-- each node polls the generations and loads what changed.
CREATE TABLE connector_heads (
    connector_id TEXT PRIMARY KEY NOT NULL,
    active_version TEXT NOT NULL,
    previous_version TEXT,
    generation BIGINT NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    FOREIGN KEY (connector_id, active_version) REFERENCES connector_versions (connector_id, version)
);

-- What ran each connector attempt.
ALTER TABLE attempts ADD COLUMN connector_version TEXT;
ALTER TABLE attempts ADD COLUMN component_digest TEXT;
