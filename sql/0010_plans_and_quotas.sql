-- Plans (Traefik Hub's APIPlan): a rate limit, a quota, and whether one consumer's calls to several APIs of the
-- plan share a counter. A grant references a plan instead of, or beside, its inline rate limit; a plan in use
-- cannot be deleted.
CREATE TABLE plans (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                 text NOT NULL UNIQUE,
    description          text NOT NULL DEFAULT '',
    rate_limit           integer CHECK (rate_limit > 0),
    rate_period_seconds  integer CHECK (rate_period_seconds > 0),
    quota_limit          bigint CHECK (quota_limit > 0),
    quota_period         text CHECK (quota_period IN ('24h', '30d', 'month')),
    bucket               text NOT NULL DEFAULT 'consumer-api' CHECK (bucket IN ('consumer-api', 'consumer')),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((rate_limit IS NULL) = (rate_period_seconds IS NULL)),
    CHECK ((quota_limit IS NULL) = (quota_period IS NULL))
);

-- The quota columns 0001 reserved on grants were never used: quotas live on plans.
ALTER TABLE api_access
    DROP COLUMN quota_limit,
    DROP COLUMN quota_period_seconds,
    ADD COLUMN plan_id uuid REFERENCES plans (id) ON DELETE RESTRICT;
CREATE INDEX api_access_plan ON api_access (plan_id);

CREATE TRIGGER plans_policy AFTER INSERT OR UPDATE OR DELETE ON plans
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('plan', 'id');

-- Quotas, counted here by every replica whatever its rate-limit store, so they survive restarts. A counter is
-- one period of one bucket ("<plan id>/<consumer id>[/<api id>]"): `used` counts calls the replicas admitted,
-- `reserved` the allowance they leased and have not spent yet. Leases are taken atomically and never exceed
-- what is left, so the replicas together cannot overspend a quota; `last_grant` carries one lease back out of
-- the UPDATE that takes it.
CREATE TABLE quota_counters (
    bucket        text NOT NULL,
    period_start  bigint NOT NULL,   -- seconds since 1970, UTC
    period_end    bigint NOT NULL,
    used          bigint NOT NULL DEFAULT 0,
    reserved      bigint NOT NULL DEFAULT 0,
    last_grant    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, period_start)
);
CREATE INDEX quota_counters_end ON quota_counters (period_end);
