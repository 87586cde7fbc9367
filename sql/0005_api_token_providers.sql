-- Which trusted identity providers' tokens an API accepts in JWT mode; no row means all of them.
-- A provider named here cannot be deleted (the admin API answers 409 naming the APIs first).
CREATE TABLE api_token_providers (
    api_id       uuid NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    provider_id  uuid NOT NULL REFERENCES identity_providers (id) ON DELETE RESTRICT,
    PRIMARY KEY (api_id, provider_id)
);
CREATE INDEX api_token_providers_provider ON api_token_providers (provider_id);
