-- Helpers shared by every state-changing script. Each script runs atomically, so the state
-- change, its indexes, its audit entry and its outbox jobs land together or not at all.

-- Append a hash-chained entry to the audit stream. `fields` becomes the entry's `data`, the
-- exact JSON that was hashed: hash = sha256(prev .. "\n" .. data).
local function audit(event, request_id, actor, now, fields)
  fields = fields or {}
  fields.event, fields.request_id, fields.actor, fields.at = event, request_id, actor, now
  local data = cjson.encode(fields)
  local prev = redis.call('GET', K.audit_head) or ''
  local hash = sha256(prev .. '\n' .. data)
  local stream_id = redis.call('XADD', K.audit, '*', 'prev', prev, 'data', data, 'hash', hash)
  redis.call('SET', K.audit_head, hash)
  redis.call('RPUSH', K.request_audit(request_id), stream_id)
  return hash
end

-- Queue a job for each sink; workers on any replica pick them up (see bot/outbox.py).
local function enqueue(sinks, kind, request_id, now, data)
  local encoded = cjson.encode(data or {})
  for _, sink in ipairs(sinks) do
    local job_id = tostring(redis.call('INCR', K.job_seq))
    redis.call('HSET', K.job(job_id), 'sink', sink, 'kind', kind, 'request_id', request_id,
      'data', encoded, 'attempts', 0, 'created_at', now)
    redis.call('ZADD', K.outbox(sink), now, job_id)
  end
  if #sinks > 0 then redis.call('PUBLISH', K.jobs_channel, kind) end
end

-- Move a request to a terminal status, with every index, wake-up and notification it implies.
local function finish(id, status, now, actor, sinks, extra)
  local key = K.request(id)
  local created = redis.call('HGET', key, 'created_at')
  redis.call('HSET', key, 'status', status, 'decided_at', now, 'decided_by', actor)
  redis.call('ZREM', K.by_status('pending'), id)
  redis.call('ZADD', K.by_status(status), created, id)
  redis.call('ZADD', K.by_decided, now, id)
  redis.call('ZREM', K.deadlines, id)
  enqueue(sinks, 'decided', id, now, {status = status})
  if redis.call('HGET', key, 'callback') == '1' then
    enqueue({'webhook'}, 'decided', id, now, {status = status})
  end
  local fields = extra or {}
  fields.status = status
  audit('decided', id, actor, now, fields)
  redis.call('PUBLISH', K.decided_channel, id)
end
