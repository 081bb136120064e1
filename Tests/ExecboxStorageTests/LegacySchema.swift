/// A legacy execbox-cloud database in its intended final state (CONTRACT.md §7: migrations
/// 001–007 with the 005/006 syntax fixed), reduced to the tables the importer reads, with data
/// that exercises every mapping rule.
enum LegacySchema {
    static let primaryA = "11111111-1111-4111-8111-111111111111"
    static let secondaryA = "22222222-2222-4222-8222-222222222222"
    static let primaryB = "33333333-3333-4333-8333-333333333333"
    static let keyA = "sk_" + String(repeating: "a20b", count: 15) + "fc3e"
    static let keySecondaryA = "sk_" + String(repeating: "0123456789abcdef", count: 4)
    /// A hand-made key, as the legacy README shows one.
    static let keyB = "sk_test_local_dev_key"

    static let schema = """
        CREATE TABLE api_keys (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            key text NOT NULL UNIQUE,
            tier text NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'starter', 'pro', 'enterprise')),
            rate_limit_rps integer DEFAULT 10 CHECK (rate_limit_rps > 0),
            created_at timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            email text,
            tier_expires_at timestamptz,
            tier_updated_at timestamptz,
            name text,
            description text,
            is_active boolean DEFAULT true,
            expires_at timestamptz,
            parent_key_id uuid REFERENCES api_keys (id) ON DELETE CASCADE,
            custom_daily_limit integer CHECK (custom_daily_limit IS NULL OR custom_daily_limit > 0),
            custom_concurrent_limit integer CHECK (custom_concurrent_limit IS NULL OR custom_concurrent_limit > 0),
            last_updated_by text,
            metadata jsonb,
            account_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE
        );
        CREATE TABLE sessions (
            id text PRIMARY KEY,
            api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
            fly_machine_id text,
            fly_app_id text,
            image text NOT NULL,
            command jsonb,
            env jsonb,
            ports jsonb,
            setup_hash text,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'stopped', 'killed', 'failed')),
            exit_code integer CHECK (exit_code IS NULL OR exit_code >= 0),
            created_at timestamptz NOT NULL DEFAULT now(),
            started_at timestamptz,
            ended_at timestamptz,
            account_id uuid NOT NULL,
            cost_estimate_cents integer DEFAULT 0,
            cpu_millis_used integer DEFAULT 0,
            memory_peak_mb integer DEFAULT 0,
            network_transfer_mb integer DEFAULT 0
        );
        CREATE TABLE usage_metrics (
            id bigserial PRIMARY KEY,
            api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
            date date NOT NULL,
            executions integer NOT NULL DEFAULT 0,
            duration_ms bigint NOT NULL DEFAULT 0,
            account_id uuid NOT NULL,
            cost_estimate_cents integer DEFAULT 0,
            cpu_millis_used bigint DEFAULT 0,
            memory_mb_seconds bigint DEFAULT 0,
            UNIQUE (api_key_id, date)
        );
        CREATE TABLE quota_requests (
            id serial PRIMARY KEY,
            api_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
            email text NOT NULL,
            name text, company text, current_tier text, requested_limits text, budget text, use_case text, notes text,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'contacted', 'converted', 'declined')),
            created_at timestamptz NOT NULL DEFAULT now(),
            responded_at timestamptz
        );
        CREATE TABLE account_limits (
            account_id uuid PRIMARY KEY,
            daily_requests_limit integer DEFAULT -1,
            concurrent_requests_limit integer DEFAULT -1,
            monthly_cost_limit numeric(10, 2),
            alert_threshold_percentage integer DEFAULT 80,
            billing_email text,
            timezone text DEFAULT 'UTC',
            updated_at timestamptz NOT NULL DEFAULT now(),
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE hourly_account_usage (
            id bigserial PRIMARY KEY,
            account_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
            hour timestamptz NOT NULL,
            executions integer NOT NULL DEFAULT 0,
            duration_ms bigint NOT NULL DEFAULT 0,
            cost_estimate_cents bigint NOT NULL DEFAULT 0,
            cpu_millis_used bigint NOT NULL DEFAULT 0,
            memory_mb_seconds bigint NOT NULL DEFAULT 0,
            errors integer NOT NULL DEFAULT 0,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (account_id, hour)
        );
        """

    static let data = """
        SET TIME ZONE 'America/New_York';
        INSERT INTO api_keys (id, key, tier, email, name, created_at, account_id, tier_updated_at)
        VALUES ('\(primaryA)', '\(keyA)', 'pro', 'ada@example.com', NULL, '2025-01-02 03:04:05+00', '\(primaryA)',
            '2025-02-01 00:00:00+00');
        INSERT INTO api_keys (id, key, tier, email, name, description, created_at, account_id, parent_key_id,
            is_active, expires_at, custom_daily_limit, last_updated_by, rate_limit_rps)
        VALUES ('\(secondaryA)', '\(keySecondaryA)', 'pro', 'ada@example.com', 'ci', 'CI runner',
            '2025-01-03 00:00:00+00', '\(primaryA)', '\(primaryA)', false, '2026-01-01 00:00:00+00', 50,
            '\(primaryA)', NULL);
        INSERT INTO api_keys (id, key, tier, created_at, account_id, is_active)
        VALUES ('\(primaryB)', '\(keyB)', 'free', '2025-03-01 12:00:00+00', '\(primaryB)', NULL);
        INSERT INTO account_limits (account_id, daily_requests_limit, concurrent_requests_limit, monthly_cost_limit,
            alert_threshold_percentage, billing_email, updated_at)
        VALUES ('\(primaryA)', 1000, 50, 12.34, 90, 'billing@example.com', '2025-01-05 00:00:00+00');
        INSERT INTO sessions (id, api_key_id, fly_machine_id, image, command, env, ports, status, exit_code, created_at,
            started_at, ended_at, account_id, cost_estimate_cents, cpu_millis_used, memory_peak_mb, network_transfer_mb)
        VALUES ('sess_0a1b2c3d4e5f', '\(primaryA)', 'machine-1', 'python:3.12', '["python", "-c", "print(1)"]',
            '{"TOKEN": "legacy-secret"}', '[{"container": 8080, "protocol": "tcp"}]', 'stopped', 0,
            '2025-01-10 10:00:00+00', '2025-01-10 10:00:01+00', '2025-01-10 10:00:11+00', '\(primaryA)', 53, 10000, 256, 2);
        INSERT INTO sessions (id, api_key_id, image, status, created_at, account_id)
        VALUES ('sess_111111111111', '\(primaryA)', 'alpine:3.19', 'running', '2025-01-11 00:00:00+00', '\(primaryA)'),
            ('sess_222222222222', '\(secondaryA)', 'alpine:3.19', 'killed', '2025-01-12 00:00:00+00', '\(secondaryA)');
        INSERT INTO quota_requests (api_key_id, email, name, company, current_tier, use_case, notes, status, created_at)
        VALUES ('\(primaryA)', 'ada@example.com', 'Ada', 'ACME', 'pro', 'CI', 'call me', 'contacted',
            '2025-01-20 00:00:00+00'),
            (NULL, 'lead@example.com', NULL, NULL, NULL, NULL, NULL, 'pending', '2025-01-21 00:00:00+00');
        INSERT INTO hourly_account_usage (account_id, hour, executions, duration_ms, cost_estimate_cents, errors)
        VALUES ('\(primaryA)', '2025-01-10 10:00:00+00', 2, 20000, 106, 1);
        INSERT INTO usage_metrics (api_key_id, date, executions, duration_ms, account_id)
        VALUES ('\(primaryA)', '2025-01-10', 5, 1, '\(primaryA)'),
            ('\(primaryA)', '2025-01-09', 3, 3000, '\(primaryA)');
        """
}
