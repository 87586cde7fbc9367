-- Usage records: per consumer (a portal user or a token user), API and hour, what the gateway replicas answered.
-- Each replica adds its counts in batches; counts of several replicas add up, and so do the latency histograms
-- (calls per fixed bucket, LatencyBuckets in PorticoCore). Rows older than the retention are pruned.
CREATE TABLE usage_hourly (
    consumer_id   uuid NOT NULL,
    api_id        uuid NOT NULL,
    hour          timestamptz NOT NULL,
    requests_2xx  bigint NOT NULL DEFAULT 0,
    requests_3xx  bigint NOT NULL DEFAULT 0,
    requests_4xx  bigint NOT NULL DEFAULT 0,
    requests_5xx  bigint NOT NULL DEFAULT 0,
    rate_limited  bigint NOT NULL DEFAULT 0,
    bytes_in      bigint NOT NULL DEFAULT 0,
    bytes_out     bigint NOT NULL DEFAULT 0,
    latency       bigint[] NOT NULL,
    PRIMARY KEY (consumer_id, api_id, hour)
);
CREATE INDEX usage_hourly_api ON usage_hourly (api_id, hour);
CREATE INDEX usage_hourly_hour ON usage_hourly (hour);
