-- The catalog (Traefik Hub's APICatalogItem): who may see an API on the portal, apart from who may call it.
-- An API without a row is private: only consumers with access see it. `plans` are those a consumer may ask for.
CREATE TABLE api_catalog (
    api_id        uuid PRIMARY KEY REFERENCES apis (id) ON DELETE CASCADE,
    visibility    text NOT NULL CHECK (visibility IN ('public', 'groups', 'private')),
    auto_approve  boolean NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE api_catalog_groups (
    api_id    uuid NOT NULL REFERENCES api_catalog (api_id) ON DELETE CASCADE,
    group_id  uuid NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (api_id, group_id)
);
CREATE TABLE api_catalog_plans (
    api_id   uuid NOT NULL REFERENCES api_catalog (api_id) ON DELETE CASCADE,
    plan_id  uuid NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    PRIMARY KEY (api_id, plan_id)
);

-- A consumer's request for access to an API under one of its offered plans. Approval adds the consumer to a
-- group of their own and grants it the API (a grant per consumer and plan, extended by later approvals).
CREATE TABLE access_requests (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    api_id           uuid NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    plan_id          uuid REFERENCES plans (id) ON DELETE SET NULL,
    reason           text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
    decision_reason  text,
    decided_by       text,
    decided_at       timestamptz,
    grant_name       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
-- One open request per consumer and API.
CREATE UNIQUE INDEX access_requests_pending ON access_requests (user_id, api_id) WHERE status = 'pending';
CREATE INDEX access_requests_status ON access_requests (status, created_at);
