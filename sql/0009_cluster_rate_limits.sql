-- Rate limits counted across gateway replicas (`--rate-limit-store cluster`): each bucket's TAT (GCRA's
-- theoretical arrival time, nanoseconds since 1970), moved on only by atomic upserts of what each replica
-- admitted since its last sync; and the replicas' heartbeats, from which each knows how many share a limit.
CREATE TABLE rate_limit_buckets (
    bucket  text PRIMARY KEY,        -- "<consumer id>/<api id>"
    tat     bigint NOT NULL
);

CREATE TABLE gateway_replicas (
    id       uuid PRIMARY KEY,
    seen_at  timestamptz NOT NULL DEFAULT now()
);
