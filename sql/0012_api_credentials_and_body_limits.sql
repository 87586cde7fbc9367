-- The consumer's credential stays at the gateway unless an API asks for it, and an API may cap request bodies.
ALTER TABLE apis
    ADD COLUMN forward_credential boolean NOT NULL DEFAULT false,
    ADD COLUMN max_body_bytes bigint CHECK (max_body_bytes > 0);
