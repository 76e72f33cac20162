-- wrk script: POST one JSON body per request, from the file given after `--`, each
-- wrk thread taking every n-th line (distinct codes across threads), with the API key
-- from LC_TOKEN. Usage: wrk -t2 -c16 -d10s -s redeem.lua URL/v1/redemptions -- FILE 2
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  nthreads = tonumber(args[2])
  counter = 0
  headers = {["Content-Type"] = "application/json",
             ["Authorization"] = "Bearer " .. os.getenv("LC_TOKEN")}
end

function request()
  local i = (counter * nthreads + tid) % #bodies + 1
  counter = counter + 1
  return wrk.format("POST", nil, headers, bodies[i])
end
