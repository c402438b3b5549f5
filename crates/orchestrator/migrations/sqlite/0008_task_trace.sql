-- The W3C traceparent of the request that submitted the task, so the
-- worker that runs it continues the same trace; NULL when traces are off.
ALTER TABLE tasks ADD COLUMN traceparent TEXT;
