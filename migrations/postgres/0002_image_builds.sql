-- Execbox schema, version 2 (PostgreSQL): image builds.
-- image_cache gains what an image was built from (setup commands; files as path and size, never
-- contents), the build's status and failure message. image_users records which accounts used
-- which image: the cache is shared, but an account sees only the images it used. Times are
-- integer microseconds since the Unix epoch, UTC, as in version 1.

ALTER TABLE image_cache ADD COLUMN setup TEXT NOT NULL DEFAULT '[]';
ALTER TABLE image_cache ADD COLUMN files TEXT NOT NULL DEFAULT '[]';
ALTER TABLE image_cache ADD COLUMN status TEXT NOT NULL DEFAULT 'ready'
    CHECK (status IN ('building', 'ready', 'failed'));
ALTER TABLE image_cache ADD COLUMN failure_message TEXT NOT NULL DEFAULT '';
CREATE INDEX image_cache_legacy_hash ON image_cache (legacy_hash);

CREATE TABLE image_users (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hash TEXT NOT NULL REFERENCES image_cache (hash) ON DELETE CASCADE,
    first_used_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, hash)
);
CREATE INDEX image_users_account ON image_users (account_id, last_used_at DESC, hash DESC);
-- For the cascade when an image is removed or evicted.
CREATE INDEX image_users_hash ON image_users (hash);
