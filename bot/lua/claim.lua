-- Lease due outbox jobs of one sink. ARGV: sink, now, lease_ms, limit.
-- A leased job is rescheduled to now + lease, so a worker that dies mid-job loses nothing:
-- the job becomes due again when the lease runs out. Returns a flat list of job fields.
local sink, now, lease, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
for _, job_id in ipairs(redis.call('ZRANGEBYSCORE', K.outbox(sink), '-inf', now,
    'LIMIT', 0, limit)) do
  redis.call('ZADD', K.outbox(sink), now + lease, job_id)
  local attempts = redis.call('HINCRBY', K.job(job_id), 'attempts', 1)
  local f = redis.call('HMGET', K.job(job_id), 'kind', 'request_id', 'data', 'created_at')
  if f[1] then
    table.insert(out, {job_id, f[1], f[2], f[3], attempts, f[4]})
  else
    redis.call('ZREM', K.outbox(sink), job_id)
  end
end
return out
