-- Identity providers (OpenID Connect): what an admin configured, and what discovery found at save time.
CREATE TABLE identity_providers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL UNIQUE,
    issuer      text NOT NULL,
    settings    jsonb NOT NULL,         -- the provider's settings; a literal client secret only sealed
    metadata    jsonb NOT NULL,         -- the discovery document's endpoints and capabilities
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
