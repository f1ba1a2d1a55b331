-- Expire overdue requests and fire due reminders/escalations. Safe on every replica at once:
-- ZREM decides which caller owns an item, and only pending requests change.
-- ARGV: now, limit, sinks (JSON). Returns {expired, followups}.
local now, limit, sinks = tonumber(ARGV[1]), tonumber(ARGV[2]), cjson.decode(ARGV[3])
local expired, fired = 0, 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', K.deadlines, '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', K.deadlines, id)
  if redis.call('HGET', K.request(id), 'status') == 'pending' then
    finish(id, 'expired', now, 'system', sinks, {})
    expired = expired + 1
  end
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', K.followups, '-inf', now, 'LIMIT', 0, limit)) do
  redis.call('ZREM', K.followups, m)
  local id, kind, n = string.match(m, '^(.+)|(%a+)|(%d+)$')
  if id and redis.call('HGET', K.request(id), 'status') == 'pending' then
    enqueue(sinks, kind, id, now, {n = tonumber(n)})
    fired = fired + 1
  end
end
return {expired, fired}
