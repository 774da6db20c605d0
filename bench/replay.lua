-- Each wrk thread replays its own pre-generated list of requests, in order.
issued = 0
threads = {}
local reqs = {}
local n = 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1] .. "/t" .. id .. ".dat", "rb"))
  while true do
    local header = f:read("*l")
    if not header then break end
    local method, path, ctype, len = header:match("^([^\t]+)\t([^\t]+)\t([^\t]*)\t(%d+)$")
    local body = f:read(tonumber(len))
    f:read(1)
    n = n + 1
    local headers = {}
    if ctype ~= "" then headers["Content-Type"] = ctype end
    reqs[n] = wrk.format(method, path, headers, body)
  end
  f:close()
end

function request()
  issued = issued + 1
  return reqs[((issued - 1) % n) + 1]
end

function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    table.insert(parts, string.format('{"id":%d,"issued":%d}', t:get("id"), t:get("issued")))
  end
  local e = summary.errors
  local out = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  out:write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"threads":[%s]}',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ",")))
  out:close()
end
