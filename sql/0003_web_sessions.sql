-- The dashboard and the portal: server-side sessions (only a hash of the cookie is kept), sign-in throttling,
-- and invitation links by which a consumer sets a password.
CREATE TABLE web_sessions (
    id_hash       bytea PRIMARY KEY,              -- SHA-256 of the cookie value
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

CREATE TABLE sign_in_failures (
    subject           text PRIMARY KEY,            -- 'account:<lower email>' or 'address:<ip>'
    failures          integer NOT NULL,
    first_failure_at  timestamptz NOT NULL,
    locked_until      timestamptz
);

CREATE TABLE invitations (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
