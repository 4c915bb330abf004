-- For bench/wrk.py: count every answer outside 2xx (wrk counts only >= 400, so a redirect to /login
-- would pass unseen), and print the exact requests and bytes, in one line bench/wrk.py reads.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non2xx, first = 0, 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if first == 0 then first = status end
  end
end

function done(summary, latency, requests)
  local total, first_seen = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non2xx")
    if first_seen == 0 then first_seen = thread:get("first") end
  end
  io.write(string.format("bench-status: non2xx=%d first=%d requests=%d bytes=%d\n",
                         total, first_seen, summary.requests, summary.bytes))
end
