-- Record one vote. ARGV: now, id, user, 'approve'|'deny', comment, sinks (JSON).
-- Eligibility was checked by the caller (it may need Slack); every other rule is here.
-- Returns {'ok', status, approvals} | {refusal_code, status} | {'not_found', ''}.
local now, id, user, choice, comment = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local sinks = cjson.decode(ARGV[6])
local key = K.request(id)
local state = redis.call('HMGET', key, 'status', 'expires_at', 'on_behalf_of', 'owner',
  'required', 'approvals', 'denial', 'created_at')
local status = state[1]
if not status then return {'not_found', ''} end
if status == 'expired' then return {'expired', status} end
if status ~= 'pending' then return {'already_decided', status} end
if tonumber(state[2]) <= now then
  finish(id, 'expired', now, 'system', sinks, {})
  return {'expired', 'expired'}
end
if user == state[3] or user == state[4] then return {'self_approval', status} end
local approvals = cjson.decode(state[6])
for _, a in ipairs(approvals) do
  if a.user == user then return {'already_voted', status} end
end
redis.call('ZADD', K.by_approver(user), now, id)
redis.call('ZADD', K.by_voter(user), state[8], id)
if choice == 'deny' then
  redis.call('HSET', key, 'denial', cjson.encode({user = user, at = now, reason = comment}))
  audit('vote', id, user, now, {vote = 'deny', reason = comment})
  enqueue(sinks, 'voted', id, now, {user = user, vote = 'deny'})
  finish(id, 'denied', now, user, sinks, {reason = comment})
  return {'ok', 'denied', #approvals}
end
table.insert(approvals, {user = user, at = now, comment = comment})
redis.call('HSET', key, 'approvals', cjson.encode(approvals))
audit('vote', id, user, now, {vote = 'approve', comment = comment, count = #approvals})
enqueue(sinks, 'voted', id, now, {user = user, vote = 'approve'})
if #approvals >= tonumber(state[5]) then
  local voters = {}
  for i, a in ipairs(approvals) do voters[i] = a.user end
  finish(id, 'approved', now, user, sinks, {approvers = voters})
  return {'ok', 'approved', #approvals}
end
return {'ok', 'pending', #approvals}
