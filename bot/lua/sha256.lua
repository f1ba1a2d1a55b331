-- SHA-256 for the audit hash chain. Redis' Lua has no SHA-256, only the
-- `bit` library; fakeredis (dev mode, unit tests) has neither, so the two
-- bitwise operations fall back to nibble arithmetic there. Under real Redis
-- `sha256_bit` (below) does the work on native int32 operations: the audit
-- hash runs inside every state change, and the portable version cost about
-- 1.5 ms of Redis' single thread per entry (bench/RESULTS.md).
local M32 = 4294967296
local band, bxor
if bit then
  band = function(a, b) return bit.band(a, b) % M32 end
  bxor = function(a, b) return bit.bxor(a, b) % M32 end
else
  local AND, XOR = {}, {}
  for i = 0, 15 do
    AND[i], XOR[i] = {}, {}
    for j = 0, 15 do
      local r_and, r_xor, p, x, y = 0, 0, 1, i, j
      for _ = 1, 4 do
        local xb, yb = x % 2, y % 2
        if xb == 1 and yb == 1 then r_and = r_and + p end
        if xb ~= yb then r_xor = r_xor + p end
        x, y, p = (x - xb) / 2, (y - yb) / 2, p * 2
      end
      AND[i][j], XOR[i][j] = r_and, r_xor
    end
  end
  local function nibbles(tbl, a, b)
    local r, p = 0, 1
    for _ = 1, 8 do
      local x, y = a % 16, b % 16
      r = r + tbl[x][y] * p
      a, b, p = (a - x) / 16, (b - y) / 16, p * 16
    end
    return r
  end
  band = function(a, b) return nibbles(AND, a, b) end
  bxor = function(a, b) return nibbles(XOR, a, b) end
end
local function rotr(x, n)
  local p = 2 ^ n
  return math.floor(x / p) + (x % p) * (2 ^ (32 - n))
end
local function shr(x, n) return math.floor(x / 2 ^ n) end
local SHA_K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local function sha256_pad(msg)
  local len = #msg
  local bits = len * 8
  msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64)
  local tail = {}
  for i = 8, 1, -1 do
    tail[i] = string.char(bits % 256)
    bits = math.floor(bits / 256)
  end
  return msg .. table.concat(tail)
end

local function sha256_portable(msg)
  msg = sha256_pad(msg)
  local h = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
             0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
  local w = {}
  for chunk = 1, #msg, 64 do
    for i = 0, 15 do
      local b1, b2, b3, b4 = string.byte(msg, chunk + i * 4, chunk + i * 4 + 3)
      w[i] = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
    end
    for i = 16, 63 do
      local v15, v2 = w[i - 15], w[i - 2]
      local s0 = bxor(bxor(rotr(v15, 7), rotr(v15, 18)), shr(v15, 3))
      local s1 = bxor(bxor(rotr(v2, 17), rotr(v2, 19)), shr(v2, 10))
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) % M32
    end
    local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
    for i = 0, 63 do
      local S1 = bxor(bxor(rotr(e, 6), rotr(e, 11)), rotr(e, 25))
      local ch = bxor(band(e, f), band(M32 - 1 - e, g))
      local t1 = (hh + S1 + ch + SHA_K[i + 1] + w[i]) % M32
      local S0 = bxor(bxor(rotr(a, 2), rotr(a, 13)), rotr(a, 22))
      local maj = bxor(bxor(band(a, b), band(a, c)), band(b, c))
      local t2 = (S0 + maj) % M32
      hh, g, f, e, d, c, b, a = g, f, e, (d + t1) % M32, c, b, a, (t1 + t2) % M32
    end
    h[1], h[2], h[3], h[4] = (h[1] + a) % M32, (h[2] + b) % M32, (h[3] + c) % M32, (h[4] + d) % M32
    h[5], h[6], h[7], h[8] = (h[5] + e) % M32, (h[6] + f) % M32, (h[7] + g) % M32, (h[8] + hh) % M32
  end
  local out = {}
  for i = 1, 8 do out[i] = string.format("%08x", h[i]) end
  return table.concat(out)
end

local sha256 = sha256_portable
if bit then
  local tobit, bnot, ror, rshift = bit.tobit, bit.bnot, bit.ror, bit.rshift
  local iand, ixor = bit.band, bit.bxor
  local K32 = {}
  for i = 1, 64 do K32[i] = tobit(SHA_K[i]) end
  local H0 = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
              0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

  -- Same algorithm on signed int32 words; sums of up to five words stay exact in a
  -- double, and tobit wraps them modulo 2^32.
  sha256 = function(msg)
    msg = sha256_pad(msg)
    local h = {}
    for i = 1, 8 do h[i] = tobit(H0[i]) end
    local w = {}
    for chunk = 1, #msg, 64 do
      for i = 0, 15 do
        local b1, b2, b3, b4 = string.byte(msg, chunk + i * 4, chunk + i * 4 + 3)
        w[i] = tobit(((b1 * 256 + b2) * 256 + b3) * 256 + b4)
      end
      for i = 16, 63 do
        local v15, v2 = w[i - 15], w[i - 2]
        local s0 = ixor(ror(v15, 7), ror(v15, 18), rshift(v15, 3))
        local s1 = ixor(ror(v2, 17), ror(v2, 19), rshift(v2, 10))
        w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
      end
      local a, b, c, d, e, f, g, hh = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
      for i = 0, 63 do
        local S1 = ixor(ror(e, 6), ror(e, 11), ror(e, 25))
        local ch = ixor(iand(e, f), iand(bnot(e), g))
        local t1 = hh + S1 + ch + K32[i + 1] + w[i]
        local S0 = ixor(ror(a, 2), ror(a, 13), ror(a, 22))
        local maj = ixor(iand(a, b), iand(a, c), iand(b, c))
        hh, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + S0 + maj)
      end
      h[1], h[2], h[3], h[4] = tobit(h[1] + a), tobit(h[2] + b), tobit(h[3] + c), tobit(h[4] + d)
      h[5], h[6], h[7], h[8] = tobit(h[5] + e), tobit(h[6] + f), tobit(h[7] + g), tobit(h[8] + hh)
    end
    local out = {}
    for i = 1, 8 do out[i] = bit.tohex(h[i], 8) end
    return table.concat(out)
  end
end
