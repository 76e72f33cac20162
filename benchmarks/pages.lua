-- wrk script: GET one path per request from the file given after `--`, each wrk thread
-- taking every n-th line. Usage: wrk -t2 -c16 -d10s -s pages.lua URL -- FILE 2
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  nthreads = tonumber(args[2])
  counter = 0
  headers = {["Accept-Language"] = "zh-CN,zh;q=0.9"}
end

function request()
  local i = (counter * nthreads + tid) % #paths + 1
  counter = counter + 1
  return wrk.format("GET", paths[i], headers)
end
