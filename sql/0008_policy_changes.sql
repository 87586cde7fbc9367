-- The policy change log: every write to what the gateways enforce records what it changed (kind, ref) under
-- the policy version its transaction moves to, in that same transaction, so a gateway applies only the
-- changes after its own version instead of reading the whole policy again.
--
-- Triggers write the log, so nothing that changes a policy table can forget to: the admin API, the CLI,
-- the sign-in that syncs a user's groups, or an operator in psql. A transaction takes one version, at its
-- first change; the policy_state row stays locked until it commits, so versions commit in order and
-- without gaps, and a gateway that has seen version N has seen every change up to N.
--
-- Kinds and their refs: key (hex SHA-256 of the key: the key's row may be gone when the change is read),
-- user (user id: its enabled state, external id or memberships), group, api, grant (api_access id),
-- auth (the settings row), provider (identity provider id), and policy (''): too much changed at once
-- (more than 10 000 rows in one statement, such as a mode switch) and every gateway reads the whole policy.

ALTER TABLE policy_state
    ADD COLUMN changed_by_tx bigint,
    -- The newest version whose changes were pruned: a gateway older than it reads the whole policy.
    ADD COLUMN pruned_through bigint NOT NULL DEFAULT 0;
-- Gateways running before this migration know no log: their next catch-up is a full load.
UPDATE policy_state SET pruned_through = version;

CREATE TABLE policy_changes (
    version  bigint NOT NULL,
    kind     text NOT NULL,
    ref      text NOT NULL DEFAULT '',
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (version, kind, ref)
);
CREATE INDEX policy_changes_at ON policy_changes (at);

-- The version of the current transaction's change: moved on (and announced at COMMIT) on its first change.
CREATE FUNCTION portico_policy_version() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    bumped bigint;
BEGIN
    UPDATE policy_state SET version = version + 1, changed_at = now(), changed_by_tx = txid_current()
    WHERE changed_by_tx IS DISTINCT FROM txid_current()
    RETURNING version INTO bumped;
    IF bumped IS NOT NULL THEN
        PERFORM pg_notify('portico_policy', bumped::text);
        RETURN bumped;
    END IF;
    RETURN (SELECT version FROM policy_state);
END $$;

-- Logs one statement's changed refs, or one whole-policy change when there are too many to apply one by one.
CREATE FUNCTION portico_log_policy_changes(change_kind text, refs text[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    IF refs IS NULL OR cardinality(refs) = 0 THEN
        RETURN;
    END IF;
    changed := portico_policy_version();
    IF cardinality(refs) > 10000 THEN
        INSERT INTO policy_changes (version, kind, ref) VALUES (changed, 'policy', '') ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO policy_changes (version, kind, ref)
        SELECT changed, change_kind, ref FROM unnest(refs) AS ref ON CONFLICT DO NOTHING;
    END IF;
END $$;

-- Small tables (APIs, grants, groups, settings, providers): one row, one change; TG_ARGV = kind, ref column.
CREATE FUNCTION portico_log_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed_row jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
BEGIN
    PERFORM portico_log_policy_changes(TG_ARGV[0], ARRAY[coalesce(changed_row ->> TG_ARGV[1], '')]);
    RETURN NULL;
END $$;

CREATE TRIGGER apis_policy AFTER INSERT OR UPDATE OR DELETE ON apis
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('api', 'id');
CREATE TRIGGER api_token_providers_policy AFTER INSERT OR UPDATE OR DELETE ON api_token_providers
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('api', 'api_id');
CREATE TRIGGER api_access_policy AFTER INSERT OR UPDATE OR DELETE ON api_access
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('grant', 'id');
CREATE TRIGGER api_access_groups_policy AFTER INSERT OR UPDATE OR DELETE ON api_access_groups
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('grant', 'access_id');
CREATE TRIGGER api_access_apis_policy AFTER INSERT OR UPDATE OR DELETE ON api_access_apis
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('grant', 'access_id');
CREATE TRIGGER groups_policy AFTER INSERT OR UPDATE OR DELETE ON groups
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('group', 'id');
CREATE TRIGGER auth_settings_policy AFTER INSERT OR UPDATE OR DELETE ON auth_settings
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('auth', '');
CREATE TRIGGER identity_providers_policy AFTER INSERT OR UPDATE OR DELETE ON identity_providers
    FOR EACH ROW EXECUTE FUNCTION portico_log_row_change('provider', 'id');

-- Large tables log per statement, from its transition tables, and only what the gateways read: the usage
-- writer's last_used_at and last_seen_at updates change nothing they enforce.
CREATE FUNCTION portico_log_key_changes() RETURNS trigger LANGUAGE plpgsql AS $$
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
                WHERE (o.secret_hash, o.user_id, o.expires_at, o.revoked_at, o.disabled_by_mode_switch)
                      IS DISTINCT FROM (n.secret_hash, n.user_id, n.expires_at, n.revoked_at, n.disabled_by_mode_switch)
                LIMIT 10001
            ) AS changed,
            LATERAL (VALUES (encode(changed.old_hash, 'hex')), (encode(changed.new_hash, 'hex'))) AS hashes (ref)));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER api_keys_policy_insert AFTER INSERT ON api_keys
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_key_changes();
CREATE TRIGGER api_keys_policy_update AFTER UPDATE ON api_keys
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_key_changes();
CREATE TRIGGER api_keys_policy_delete AFTER DELETE ON api_keys
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_key_changes();

-- A new enabled user changes no decision (its keys and memberships log themselves); a disabled one does.
CREATE FUNCTION portico_log_user_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portico_log_policy_changes('user', (
            SELECT array_agg(id::text) FROM (SELECT id FROM new_rows WHERE disabled LIMIT 10001) AS changed));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM portico_log_policy_changes('user', (SELECT array_agg(id::text) FROM (SELECT id FROM old_rows LIMIT 10001) AS changed));
    ELSE
        PERFORM portico_log_policy_changes('user', (
            SELECT array_agg(id::text) FROM (
                SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE (o.disabled, o.external_id) IS DISTINCT FROM (n.disabled, n.external_id) LIMIT 10001
            ) AS changed));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER users_policy_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_user_changes();
CREATE TRIGGER users_policy_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_user_changes();
CREATE TRIGGER users_policy_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_user_changes();

CREATE FUNCTION portico_log_membership_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM portico_log_policy_changes('user', (
            SELECT array_agg(user_id::text) FROM (SELECT DISTINCT user_id FROM new_rows LIMIT 10001) AS changed));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM portico_log_policy_changes('user', (
            SELECT array_agg(user_id::text) FROM (SELECT DISTINCT user_id FROM old_rows LIMIT 10001) AS changed));
    ELSE
        PERFORM portico_log_policy_changes('user', (
            SELECT array_agg(user_id::text) FROM (
                SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows LIMIT 10001
            ) AS changed));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER memberships_policy_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_membership_changes();
CREATE TRIGGER memberships_policy_update AFTER UPDATE ON memberships
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_membership_changes();
CREATE TRIGGER memberships_policy_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_log_membership_changes();
