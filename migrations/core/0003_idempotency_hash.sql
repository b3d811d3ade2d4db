-- The keyed hash of the first request that used an idempotency key: a retry
-- must be the same request, or it is refused instead of answered with the
-- first request's result.
ALTER TABLE idempotency ADD COLUMN req_hash TEXT;
