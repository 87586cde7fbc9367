-- A different token on every request, taken in turn from the file PORTICO_BENCH_TOKENS (one a line): with
-- more tokens than Portico's verified-token memory holds, every request is verified in full, as HAProxy does.
local tokens = {}
for line in io.lines(os.getenv("PORTICO_BENCH_TOKENS")) do
  tokens[#tokens + 1] = line
end
local next_token = 0
local headers = {}

function request()
  next_token = next_token % #tokens + 1
  for name, value in pairs(wrk.headers) do
    headers[name] = value
  end
  headers["Authorization"] = "Bearer " .. tokens[next_token]
  return wrk.format(nil, nil, headers)
end
