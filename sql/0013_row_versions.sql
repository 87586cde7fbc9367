-- A version per admin resource row, for optimistic concurrency: the admin API's ETag and If-Match, and the
-- dashboard's edit forms. Every UPDATE bumps it.
CREATE FUNCTION portico_bump_row_version() RETURNS trigger AS $$
BEGIN
    NEW.row_version := OLD.row_version + 1;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

ALTER TABLE users ADD COLUMN row_version bigint NOT NULL DEFAULT 1;
ALTER TABLE groups ADD COLUMN row_version bigint NOT NULL DEFAULT 1;
ALTER TABLE apis ADD COLUMN row_version bigint NOT NULL DEFAULT 1;
ALTER TABLE api_access ADD COLUMN row_version bigint NOT NULL DEFAULT 1;
ALTER TABLE plans ADD COLUMN row_version bigint NOT NULL DEFAULT 1;
ALTER TABLE identity_providers ADD COLUMN row_version bigint NOT NULL DEFAULT 1;

CREATE TRIGGER users_row_version BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION portico_bump_row_version();
CREATE TRIGGER groups_row_version BEFORE UPDATE ON groups FOR EACH ROW EXECUTE FUNCTION portico_bump_row_version();
CREATE TRIGGER apis_row_version BEFORE UPDATE ON apis FOR EACH ROW EXECUTE FUNCTION portico_bump_row_version();
CREATE TRIGGER api_access_row_version BEFORE UPDATE ON api_access FOR EACH ROW EXECUTE FUNCTION portico_bump_row_version();
CREATE TRIGGER plans_row_version BEFORE UPDATE ON plans FOR EACH ROW EXECUTE FUNCTION portico_bump_row_version();
CREATE TRIGGER identity_providers_row_version BEFORE UPDATE ON identity_providers FOR EACH ROW EXECUTE FUNCTION portico_bump_row_version();
