-- Execbox schema, version 1 (SQLite).
-- Times are integer microseconds since the Unix epoch, UTC, in both dialects: no time-zone
-- dependent arithmetic (the legacy daily quota was wrong unless the session time zone was UTC).
-- Secrets are never stored in clear: API keys as SHA-256 hashes, session environments and webhook
-- signing secrets sealed with the storage key (ChaCha20-Poly1305).

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL DEFAULT '',
    -- Lower-cased email for accounts that must be unique per email; NULL for imported duplicates.
    email_key TEXT UNIQUE,
    tier TEXT NOT NULL CHECK (tier IN ('anonymous', 'free', 'starter', 'pro', 'enterprise')),
    tier_expires_at BIGINT,
    tier_updated_at BIGINT,
    primary_key_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    parent_key_id TEXT REFERENCES api_keys (id) ON DELETE SET NULL,
    is_primary BOOLEAN NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,
    lookup_prefix TEXT NOT NULL,
    key_preview TEXT NOT NULL,
    previous_secret_hash BLOB,
    previous_secret_expires_at BIGINT,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    rate_limit_rps INTEGER NOT NULL DEFAULT 10 CHECK (rate_limit_rps > 0),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at BIGINT,
    custom_daily_limit BIGINT CHECK (custom_daily_limit IS NULL OR custom_daily_limit > 0),
    custom_concurrent_limit BIGINT CHECK (custom_concurrent_limit IS NULL OR custom_concurrent_limit > 0),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_used_at BIGINT,
    last_updated_by TEXT NOT NULL DEFAULT '',
    revoked_at BIGINT,
    revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at, id);
CREATE INDEX api_keys_previous_secret ON api_keys (previous_secret_hash) WHERE previous_secret_hash IS NOT NULL;
CREATE INDEX api_keys_lookup_prefix ON api_keys (lookup_prefix);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    api_key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    status TEXT NOT NULL
        CHECK (status IN ('pending', 'building', 'running', 'stopping', 'stopped', 'failed', 'killed')),
    -- JSON of the spec without secrets; environment values are in env_sealed.
    spec TEXT NOT NULL,
    env_sealed BLOB,
    image TEXT NOT NULL,
    image_id TEXT NOT NULL DEFAULT '',
    image_ref TEXT NOT NULL DEFAULT '',
    setup_hash TEXT NOT NULL DEFAULT '',
    image_cache_hit BOOLEAN NOT NULL DEFAULT FALSE,
    backend TEXT NOT NULL DEFAULT '',
    backend_id TEXT NOT NULL DEFAULT '',
    node_id TEXT NOT NULL DEFAULT '',
    network TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    ended_at BIGINT,
    expires_at BIGINT,
    last_activity_at BIGINT,
    exit_code INTEGER,
    exit_signal INTEGER,
    exit_reason TEXT,
    oom_killed BOOLEAN NOT NULL DEFAULT FALSE,
    status_message TEXT NOT NULL DEFAULT '',
    duration_ms BIGINT NOT NULL DEFAULT 0,
    cpu_time_ms BIGINT NOT NULL DEFAULT 0,
    memory_peak_mb BIGINT NOT NULL DEFAULT 0,
    network_tx_bytes BIGINT NOT NULL DEFAULT 0,
    network_rx_bytes BIGINT NOT NULL DEFAULT 0,
    cost_cents BIGINT NOT NULL DEFAULT 0,
    cost_micro_usd BIGINT NOT NULL DEFAULT 0,
    idempotency_key TEXT
);
CREATE INDEX sessions_account_created ON sessions (account_id, created_at DESC, id DESC);
CREATE INDEX sessions_account_status ON sessions (account_id, status);
CREATE INDEX sessions_key_created ON sessions (api_key_id, created_at);
CREATE INDEX sessions_active ON sessions (created_at, id)
    WHERE status IN ('pending', 'building', 'running', 'stopping');

CREATE TABLE session_labels (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
);
CREATE INDEX session_labels_name_value ON session_labels (name, value);

-- The usage ledger: one row per metered event, unique per idempotency key.
CREATE TABLE usage_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    api_key_id TEXT NOT NULL,
    session_id TEXT,
    occurred_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    executions BIGINT NOT NULL DEFAULT 0 CHECK (executions >= 0),
    duration_ms BIGINT NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    cpu_time_ms BIGINT NOT NULL DEFAULT 0 CHECK (cpu_time_ms >= 0),
    memory_mb_seconds BIGINT NOT NULL DEFAULT 0 CHECK (memory_mb_seconds >= 0),
    bytes_in BIGINT NOT NULL DEFAULT 0 CHECK (bytes_in >= 0),
    bytes_out BIGINT NOT NULL DEFAULT 0 CHECK (bytes_out >= 0),
    errors BIGINT NOT NULL DEFAULT 0 CHECK (errors >= 0),
    cost_cents BIGINT NOT NULL DEFAULT 0 CHECK (cost_cents >= 0),
    cost_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0)
);
CREATE INDEX usage_events_account ON usage_events (account_id, occurred_at);

-- Roll-ups per account, key and UTC hour or day, written in the same transaction as the event.
CREATE TABLE usage_hourly (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    api_key_id TEXT NOT NULL,
    bucket_start BIGINT NOT NULL,
    executions BIGINT NOT NULL DEFAULT 0 CHECK (executions >= 0),
    duration_ms BIGINT NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    cpu_time_ms BIGINT NOT NULL DEFAULT 0 CHECK (cpu_time_ms >= 0),
    memory_mb_seconds BIGINT NOT NULL DEFAULT 0 CHECK (memory_mb_seconds >= 0),
    bytes_in BIGINT NOT NULL DEFAULT 0 CHECK (bytes_in >= 0),
    bytes_out BIGINT NOT NULL DEFAULT 0 CHECK (bytes_out >= 0),
    errors BIGINT NOT NULL DEFAULT 0 CHECK (errors >= 0),
    cost_cents BIGINT NOT NULL DEFAULT 0 CHECK (cost_cents >= 0),
    cost_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0),
    PRIMARY KEY (account_id, api_key_id, bucket_start)
);

CREATE TABLE usage_daily (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    api_key_id TEXT NOT NULL,
    bucket_start BIGINT NOT NULL,
    executions BIGINT NOT NULL DEFAULT 0 CHECK (executions >= 0),
    duration_ms BIGINT NOT NULL DEFAULT 0 CHECK (duration_ms >= 0),
    cpu_time_ms BIGINT NOT NULL DEFAULT 0 CHECK (cpu_time_ms >= 0),
    memory_mb_seconds BIGINT NOT NULL DEFAULT 0 CHECK (memory_mb_seconds >= 0),
    bytes_in BIGINT NOT NULL DEFAULT 0 CHECK (bytes_in >= 0),
    bytes_out BIGINT NOT NULL DEFAULT 0 CHECK (bytes_out >= 0),
    errors BIGINT NOT NULL DEFAULT 0 CHECK (errors >= 0),
    cost_cents BIGINT NOT NULL DEFAULT 0 CHECK (cost_cents >= 0),
    cost_micro_usd BIGINT NOT NULL DEFAULT 0 CHECK (cost_micro_usd >= 0),
    PRIMARY KEY (account_id, api_key_id, bucket_start)
);

CREATE TABLE image_cache (
    hash TEXT PRIMARY KEY,
    legacy_hash TEXT NOT NULL DEFAULT '',
    base_image TEXT NOT NULL,
    image_ref TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    hits BIGINT NOT NULL DEFAULT 0,
    build_duration_ms BIGINT,
    size_bytes BIGINT
);
CREATE INDEX image_cache_last_used ON image_cache (last_used_at);

CREATE TABLE account_limits (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    daily_requests_limit BIGINT NOT NULL DEFAULT -1
        CHECK (daily_requests_limit = -1 OR daily_requests_limit > 0),
    concurrent_requests_limit BIGINT NOT NULL DEFAULT -1
        CHECK (concurrent_requests_limit = -1 OR concurrent_requests_limit > 0),
    monthly_cost_limit_cents BIGINT CHECK (monthly_cost_limit_cents IS NULL OR monthly_cost_limit_cents > 0),
    alert_threshold INTEGER NOT NULL DEFAULT 80 CHECK (alert_threshold BETWEEN 1 AND 100),
    billing_email TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT 'UTC',
    updated_at BIGINT NOT NULL
);

CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    metric TEXT NOT NULL,
    threshold REAL NOT NULL,
    webhook_ids TEXT NOT NULL DEFAULT '[]',
    notify_email BOOLEAN NOT NULL DEFAULT FALSE,
    cooldown_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_triggered_at BIGINT
);
CREATE INDEX alert_rules_account ON alert_rules (account_id, created_at, id);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    events TEXT NOT NULL DEFAULT '[]',
    secret_sealed BLOB NOT NULL,
    secret_preview TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_delivery_at BIGINT,
    last_delivery_status INTEGER NOT NULL DEFAULT 0,
    consecutive_failures INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhooks_account ON webhooks (account_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_attempt_at BIGINT,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE state = 'pending';

CREATE TABLE quota_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    legacy_id BIGINT UNIQUE,
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    company TEXT NOT NULL DEFAULT '',
    use_case TEXT NOT NULL DEFAULT '',
    requested_limits TEXT NOT NULL DEFAULT '',
    budget TEXT NOT NULL DEFAULT '',
    current_tier TEXT,
    api_key_id TEXT REFERENCES api_keys (id) ON DELETE SET NULL,
    account_id TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'contacted', 'converted', 'declined')),
    created_at BIGINT NOT NULL,
    responded_at BIGINT
);
CREATE INDEX quota_requests_status ON quota_requests (status, id);

CREATE TABLE waitlist (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    account_id TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    source_ip TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX waitlist_email ON waitlist (email);

-- Kept when the account goes: no foreign key.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    performed_by TEXT NOT NULL,
    details TEXT NOT NULL DEFAULT '{}',
    request_id TEXT NOT NULL DEFAULT '',
    source_ip TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_account ON audit_log (account_id, id);

CREATE TABLE idempotency_keys (
    account_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, scope, idempotency_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
