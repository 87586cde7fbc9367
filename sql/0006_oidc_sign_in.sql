-- Sign-in through identity providers (authorization code flow with PKCE). A flow in progress is kept by the hash
-- of its state, bound to the hash of the browser's flow cookie, and used once; a web session remembers the
-- provider it came from and its ID token (sealed with PORTICO_SECRET_KEY), for the provider's sign-out.
CREATE TABLE oidc_sign_in_flows (
    state_hash     bytea PRIMARY KEY,
    browser_hash   bytea NOT NULL,
    provider_id    uuid NOT NULL REFERENCES identity_providers (id) ON DELETE CASCADE,
    area           text NOT NULL CHECK (area IN ('dashboard', 'portal')),
    return_to      text,
    nonce          text NOT NULL,
    code_verifier  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oidc_sign_in_flows_created ON oidc_sign_in_flows (created_at);

ALTER TABLE web_sessions
    ADD COLUMN identity_provider_id uuid REFERENCES identity_providers (id) ON DELETE CASCADE,
    ADD COLUMN id_token text;
