-- wrk script: GET PATH with `Authorization: Bearer <token>` and
-- `x-sc-auth: bench`, cycling through the tokens of a file (one a line).
-- Each thread starts at its own offset, so with N tokens and T threads no
-- token repeats before N requests.
--
--   wrk ... -s tokens.lua URL -- TOKENS_FILE THREADS [PATH]

local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2]) or 1
  path = args[3] or "/whoami"
  tokens = {}
  for line in io.lines(file) do
    if #line > 0 then
      tokens[#tokens + 1] = line
    end
  end
  if #tokens == 0 then
    error("no tokens in " .. file)
  end
  ntokens = #tokens
  idx = math.floor(#tokens * id / nthreads)
end

function request()
  idx = idx % #tokens + 1
  return wrk.format("GET", path, {
    ["Authorization"] = "Bearer " .. tokens[idx],
    ["x-sc-auth"] = "bench",
  })
end

function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do
    n = t:get("ntokens") or n
  end
  io.write(string.format("lua: tokens=%d requests=%d\n", n, summary.requests))
end
