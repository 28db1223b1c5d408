-- Cycles pre-signed webhook bodies (benches/ingest_wrk.sh). Each wrk thread takes its
-- own slice of the file, so no event is sent twice (a repeat would take the cheaper
-- dedupe path and flatter the figures).
local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  sigs, bodies = {}, {}
  local n = 0
  for line in io.lines(file) do
    if n % nthreads == index then
      local tab = line:find("\t", 1, true)
      sigs[#sigs + 1] = line:sub(1, tab - 1)
      bodies[#bodies + 1] = line:sub(tab + 1)
    end
    n = n + 1
  end
  i = 0
end

function request()
  i = i + 1
  if i > #bodies then
    i = 1
  end
  return wrk.format("POST", "/webhook/zalo",
    { ["X-ZEvent-Signature"] = sigs[i], ["Content-Type"] = "application/json" }, bodies[i])
end
