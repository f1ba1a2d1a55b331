-- Create a request, idempotently. ARGV[1] is a JSON spec built by bot/store.py.
-- Returns {'created', id} | {'existing', id} | {'conflict', id}.
local spec = cjson.decode(ARGV[1])
if spec.idem_key ~= cjson.null then
  local ikey = K.idempotency(spec.agent, spec.idem_key)
  local seen = redis.call('GET', ikey)
  if seen then
    local fingerprint, existing = string.match(seen, '^(%S+) (%S+)$')
    if fingerprint == spec.fingerprint then return {'existing', existing} end
    return {'conflict', existing}
  end
  redis.call('SET', ikey, spec.fingerprint .. ' ' .. spec.id, 'EX', spec.idem_ttl)
end
local id, now, key = spec.id, spec.created_at, K.request(spec.id)
redis.call('HSET', key, 'doc', spec.doc, 'status', 'pending', 'agent', spec.agent,
  'owner', spec.owner, 'on_behalf_of', spec.on_behalf_of, 'required', spec.required,
  'approvals', '[]', 'created_at', now, 'expires_at', spec.expires_at,
  'callback', spec.callback and '1' or '0', 'policy', spec.policy)
redis.call('ZADD', K.by_created, now, id)
redis.call('ZADD', K.by_status('pending'), now, id)
redis.call('ZADD', K.by_agent(spec.agent), now, id)
redis.call('ZADD', K.by_risk(spec.risk), now, id)
audit('created', id, spec.agent, now, {action = spec.action, action_hash = spec.action_hash,
  risk = spec.risk, rule = spec.rule, on_behalf_of = spec.on_behalf_of,
  required = spec.required})
if spec.outcome == 'pending' then
  redis.call('ZADD', K.deadlines, spec.expires_at, id)
  for _, point in ipairs(spec.followups) do
    redis.call('ZADD', K.followups, point[1], id .. '|' .. point[2] .. '|' .. point[3])
  end
  enqueue(spec.sinks, 'created', id, now, {})
else
  if spec.outcome == 'denied' then
    redis.call('HSET', key, 'denial',
      cjson.encode({user = 'policy', at = now, reason = spec.reason}))
  end
  finish(id, spec.outcome, now, 'policy', {}, {reason = spec.reason})
end
return {'created', id}
