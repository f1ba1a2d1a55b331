-- Cancel a pending request. ARGV: now, id, actor, reason, sinks (JSON).
-- Returns {'ok', 'cancelled'} | {'already_decided', status} | {'not_found', ''}.
local now, id, actor, reason = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local key = K.request(id)
local status = redis.call('HGET', key, 'status')
if not status then return {'not_found', ''} end
if status ~= 'pending' then return {'already_decided', status} end
redis.call('HSET', key, 'cancel_reason', reason)
finish(id, 'cancelled', now, actor, cjson.decode(ARGV[5]), {reason = reason})
return {'ok', 'cancelled'}
