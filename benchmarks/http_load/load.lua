-- wrk script for benchmarks/http_load.py: POST /v1/recall rotating over many distinct
-- queries and, with write_every > 0, a POST /v1/memories with a distinct text every
-- write_every-th request (10 → a 90/10 read/write mix). done() prints one JSON line,
-- with the latency quantiles on a grid ("grid": [[percent, us], ...] every 0.1% up to 99%,
-- every 0.01% above, then the max) so the runs of several wrk processes (one per API
-- node) can be merged into one distribution.
--
--   wrk -t1 -c32 -d30s -s load.lua http://127.0.0.1:PORT -- \
--       KEY QUERIES WRITES WRITE_EVERY K THREADS OFFSET DISTINCT NAMESPACE RECONNECT_EVERY
--
-- QUERIES / WRITES: files with one JSON-escaped string per line (WRITES "-" for none).
-- Request i of the run (counted over all threads: thread t makes t-1, t-1+THREADS, ...)
-- uses line (OFFSET + i) mod #lines. With DISTINCT = 1 every pass over a file after the
-- first appends " (pass N)" to the text, so no text repeats within a server's lifetime
-- as long as each run gets its own OFFSET: the engine's embedding cache cannot answer.
-- DISTINCT = 0 repeats the texts as they are (the labelled "hot query" scenario).
-- RECONNECT_EVERY > 0: every RECONNECT_EVERY-th request of a thread asks the server to
-- close the connection afterwards (Connection: close) and wrk reconnects. Workers of
-- `cortex serve --workers N` share one listening socket and a connection stays with the
-- worker that accepted it: opened all at once, 32 connections can land on one worker.
-- Reconnecting lets the less busy worker accept the next one, as many clients would.

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

local function read_lines(path)
   local out = {}
   if path == "-" then
      return out
   end
   for line in io.lines(path) do
      if #line > 0 then
         out[#out + 1] = line
      end
   end
   return out
end

local function pick(lines, i)
   local text = lines[(i % #lines) + 1]
   local pass = math.floor(i / #lines)
   if distinct and pass > 0 then
      text = text .. " (pass " .. (pass + 1) .. ")"
   end
   return text
end

function init(args)
   local key = args[1]
   queries = read_lines(args[2])
   writes = read_lines(args[3])
   write_every = tonumber(args[4])
   k = tonumber(args[5])
   stride = tonumber(args[6])
   local offset = tonumber(args[7])
   distinct = args[8] == "1"
   namespace = args[9]
   reconnect_every = tonumber(args[10] or "0")
   headers = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. key,
   }
   closing = {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. key,
      ["Connection"] = "close",
   }
   made = 0
   query_at = offset + id - 1
   write_at = offset + id - 1
   recalls = 0
   writes_sent = 0
   statuses = {}
end

function request()
   made = made + 1
   local h = headers
   if reconnect_every > 0 and made % reconnect_every == 0 then
      h = closing
   end
   if write_every > 0 and #writes > 0 and made % write_every == 0 then
      writes_sent = writes_sent + 1
      local text = pick(writes, write_at)
      write_at = write_at + stride
      local body = '{"text":"' .. text .. '","namespace":"' .. namespace .. '"}'
      return wrk.format("POST", "/v1/memories", h, body)
   end
   recalls = recalls + 1
   local text = pick(queries, query_at)
   query_at = query_at + stride
   local body = '{"query":"' .. text .. '","k":' .. k .. '}'
   return wrk.format("POST", "/v1/recall", h, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

local function json_counts(counts)
   local parts = {}
   for code, count in pairs(counts) do
      parts[#parts + 1] = string.format('"%s":%d', tostring(code), count)
   end
   return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
   local merged, sent_recalls, sent_writes = {}, 0, 0
   for _, thread in ipairs(threads) do
      for code, count in pairs(thread:get("statuses") or {}) do
         merged[code] = (merged[code] or 0) + count
      end
      sent_recalls = sent_recalls + (thread:get("recalls") or 0)
      sent_writes = sent_writes + (thread:get("writes_sent") or 0)
   end
   local pct = {}
   for _, p in ipairs({50, 75, 90, 95, 99, 99.9}) do
      pct[#pct + 1] = string.format('"%s":%d', tostring(p), latency:percentile(p))
   end
   -- wrk's percentile() walks its histogram from the minimum: ~1,100 calls take about a
   -- second at most, after the run (not measured).
   local grid = {}
   if summary.requests > 0 then
      for i = 1, 990 do
         grid[#grid + 1] = string.format("[%.2f,%d]", i / 10, latency:percentile(i / 10))
      end
      for i = 1, 99 do
         grid[#grid + 1] = string.format("[%.2f,%d]", 99 + i / 100, latency:percentile(99 + i / 100))
      end
      grid[#grid + 1] = string.format("[100,%d]", latency.max)
   end
   local e = summary.errors
   io.write(string.format(
      'HTTP_LOAD_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"percentiles":{%s},"grid":[%s]},' ..
      '"statuses":%s,"recalls_sent":%d,"writes_sent":%d}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.stdev, latency.max, table.concat(pct, ","),
      table.concat(grid, ","),
      json_counts(merged), sent_recalls, sent_writes))
end
