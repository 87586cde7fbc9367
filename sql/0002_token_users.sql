-- Users met through JWTs (created on first sight, keyed by external_id) may carry no email claim, or an email an
-- existing account already uses: they are stored with an empty email, which the uniqueness rule leaves out.
DROP INDEX users_email_unique;
CREATE UNIQUE INDEX users_email_unique ON users (lower(email)) WHERE email <> '';
