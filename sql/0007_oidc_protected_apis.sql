-- APIs protected by an OIDC session: the API's settings, the sign-in flows the gateways started (used once, by
-- the hash of their state) and the sessions (by the hash of the cookie), shared by every gateway replica.
ALTER TABLE apis
    ADD COLUMN auth text NOT NULL DEFAULT 'default' CHECK (auth IN ('default', 'oidc')),
    ADD COLUMN oidc jsonb;

CREATE TABLE gateway_oidc_flows (
    state_hash     bytea PRIMARY KEY,
    api_id         uuid NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    browser_hash   bytea NOT NULL,
    nonce          text NOT NULL,
    code_verifier  text NOT NULL,
    return_to      text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gateway_oidc_flows_created ON gateway_oidc_flows (created_at);

CREATE TABLE gateway_oidc_sessions (
    id_hash      bytea PRIMARY KEY,
    api_id       uuid NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    external_id  text NOT NULL,
    claims       jsonb NOT NULL,
    id_token     text NOT NULL,   -- sealed with PORTICO_SECRET_KEY ('' without one): the sign-out hint
    refresh_token     text,           -- sealed with PORTICO_SECRET_KEY; only with session.refresh
    token_expires_at  timestamptz,    -- when the access token runs out and is refreshed
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX gateway_oidc_sessions_expiry ON gateway_oidc_sessions (expires_at);
