-- Each consumer's latest refusals (401, 403, 404, 429) from every gateway replica, written in batches and kept
-- to the newest 50 per consumer, for the dashboard's "recent refusals" and finding a refusal by its request id.
-- `consumer_id` is a user's id, or a token user's derived consumer id: no foreign key, as token users may have
-- no row yet. The path is stored without its query.
CREATE TABLE recent_refusals (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer_id  uuid NOT NULL,
    at           timestamptz NOT NULL,
    request_id   text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    api          text,
    status       integer NOT NULL,
    error        text NOT NULL,
    step         text NOT NULL,
    message      text NOT NULL
);
CREATE INDEX recent_refusals_consumer ON recent_refusals (consumer_id, at DESC, id DESC);
CREATE INDEX recent_refusals_request ON recent_refusals (request_id);
