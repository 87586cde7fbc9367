-- Applications group a consumer's credentials (Kong's and Traefik Hub's "application"): every API key belongs to
-- one. Each user who had keys gets a `default` application holding them.
CREATE TABLE applications (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);
INSERT INTO applications (user_id, name, description)
SELECT DISTINCT user_id, 'default', 'The keys made before applications' FROM api_keys;
ALTER TABLE api_keys ADD COLUMN application_id uuid REFERENCES applications (id) ON DELETE CASCADE;
UPDATE api_keys k SET application_id = a.id FROM applications a WHERE a.user_id = k.user_id AND a.name = 'default';
ALTER TABLE api_keys ALTER COLUMN application_id SET NOT NULL;
CREATE INDEX api_keys_application ON api_keys (application_id);
-- A key inserted without an application (by a script, say) goes to its owner's `default` one.
CREATE FUNCTION portico_default_application() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.application_id IS NULL THEN
        SELECT id INTO NEW.application_id FROM applications WHERE user_id = NEW.user_id AND name = 'default';
        IF NEW.application_id IS NULL THEN
            INSERT INTO applications (user_id, name) VALUES (NEW.user_id, 'default')
            ON CONFLICT (user_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id INTO NEW.application_id;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER api_keys_default_application BEFORE INSERT ON api_keys
    FOR EACH ROW EXECUTE FUNCTION portico_default_application();

-- A rotation issues a new key and lets the old one expire after an overlap; the new key names the old one.
ALTER TABLE api_keys ADD COLUMN rotated_from uuid REFERENCES api_keys (id) ON DELETE SET NULL;
-- The APIs a key is limited to (a subset of those its owner can reach); NULL is every one.
ALTER TABLE api_keys ADD COLUMN scopes uuid[];

-- The admins' rules for new keys: a longest lifetime, and whether a key without expiry is refused.
CREATE TABLE key_policy (
    id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
    max_lifetime_days  integer CHECK (max_lifetime_days > 0),
    require_expiry     boolean NOT NULL DEFAULT false,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
INSERT INTO key_policy DEFAULT VALUES;

-- Usage records per application too; calls that came with no key (tokens, try-it) count under the nil UUID.
ALTER TABLE usage_hourly ADD COLUMN application_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE usage_hourly DROP CONSTRAINT usage_hourly_pkey;
ALTER TABLE usage_hourly ADD PRIMARY KEY (consumer_id, api_id, hour, application_id);

-- The gateways now read a key's application and scopes: a change to either is a policy change.
CREATE OR REPLACE FUNCTION portico_log_key_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- At most one ref past the limit is collected: a statement over it is a whole-policy change anyway.
    IF TG_OP = 'INSERT' THEN
        PERFORM portico_log_policy_changes('key', (
            SELECT array_agg(encode(secret_hash, 'hex')) FROM (SELECT secret_hash FROM new_rows LIMIT 10001) AS changed));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM portico_log_policy_changes('key', (
            SELECT array_agg(encode(secret_hash, 'hex')) FROM (SELECT secret_hash FROM old_rows LIMIT 10001) AS changed));
    ELSE
        PERFORM portico_log_policy_changes('key', (
            SELECT array_agg(DISTINCT hashes.ref) FROM (
                SELECT o.secret_hash AS old_hash, n.secret_hash AS new_hash
                FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE (o.secret_hash, o.user_id, o.expires_at, o.revoked_at, o.disabled_by_mode_switch, o.application_id, o.scopes)
                      IS DISTINCT FROM (n.secret_hash, n.user_id, n.expires_at, n.revoked_at, n.disabled_by_mode_switch, n.application_id, n.scopes)
                LIMIT 10001
            ) AS changed,
            LATERAL (VALUES (encode(changed.old_hash, 'hex')), (encode(changed.new_hash, 'hex'))) AS hashes (ref)));
    END IF;
    RETURN NULL;
END $$;
