-- Portico's first schema: the whole model of DESIGN.md.
-- gen_random_uuid() is built into PostgreSQL 13 and later.

CREATE TABLE policy_state (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version     bigint NOT NULL DEFAULT 1,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO policy_state DEFAULT VALUES;

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    name          text NOT NULL DEFAULT '',
    external_id   text UNIQUE,
    password_hash text,
    role          text NOT NULL DEFAULT 'consumer' CHECK (role IN ('admin', 'consumer')),
    disabled      boolean NOT NULL DEFAULT false,
    token_name    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz
);
CREATE UNIQUE INDEX users_email_unique ON users (lower(email));

CREATE TABLE groups (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX memberships_group ON memberships (group_id);

CREATE TABLE apis (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name          text NOT NULL UNIQUE,
    path_prefix   text NOT NULL CHECK (path_prefix LIKE '/%'),
    host          text,
    upstream      text NOT NULL,
    strip_prefix  boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'deprecated', 'disabled')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- One API per (path prefix, host); a host-less API counts as host ''.
CREATE UNIQUE INDEX apis_route_unique ON apis (path_prefix, coalesce(host, ''));

CREATE TABLE api_access (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                   text NOT NULL UNIQUE,
    all_apis               boolean NOT NULL DEFAULT false,
    rate_limit             integer CHECK (rate_limit > 0),
    rate_period_seconds    integer CHECK (rate_period_seconds > 0),
    quota_limit            bigint CHECK (quota_limit > 0),
    quota_period_seconds   integer CHECK (quota_period_seconds > 0),
    allowed_methods        text[],
    priority               integer NOT NULL DEFAULT 0,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now(),
    CHECK ((rate_limit IS NULL) = (rate_period_seconds IS NULL)),
    CHECK ((quota_limit IS NULL) = (quota_period_seconds IS NULL))
);

CREATE TABLE api_access_groups (
    access_id  uuid NOT NULL REFERENCES api_access (id) ON DELETE CASCADE,
    group_id   uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (access_id, group_id)
);

CREATE TABLE api_access_apis (
    access_id  uuid NOT NULL REFERENCES api_access (id) ON DELETE CASCADE,
    api_id     uuid NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    PRIMARY KEY (access_id, api_id)
);

CREATE TABLE api_keys (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name                      text NOT NULL,
    prefix                    text NOT NULL,
    secret_hash               bytea NOT NULL UNIQUE,   -- SHA-256 of the key; the key itself is never stored
    created_at                timestamptz NOT NULL DEFAULT now(),
    last_used_at              timestamptz,
    expires_at                timestamptz,
    revoked_at                timestamptz,
    disabled_by_mode_switch   boolean NOT NULL DEFAULT false
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE admin_tokens (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    prefix        text NOT NULL,
    secret_hash   bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE TABLE auth_settings (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    mode            text NOT NULL DEFAULT 'api_key' CHECK (mode IN ('api_key', 'jwt')),
    version         integer NOT NULL DEFAULT 1,
    jwt             jsonb,
    claims_mapping  jsonb NOT NULL DEFAULT '{"groups": "groups", "userId": "sub", "email": "email", "tokenName": "azp"}',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO auth_settings DEFAULT VALUES;

-- Kept without foreign keys on purpose: the history outlives the users and entities it names.
CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    actor_id     uuid,
    actor        text NOT NULL,
    action       text NOT NULL,
    entity_type  text NOT NULL,
    entity_id    text,
    before       jsonb,
    after        jsonb,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_at ON audit_log (at DESC);
