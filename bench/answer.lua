-- wrk script of bench.py: the answer cycle. Run with one connection per thread
-- (wrk -t N -c N ... -- MODE DIR MAX), so each connection walks its own sessions.
--
-- MODE: "htmx" (POST with HX-Request, the #step fragment back), "nojs" (POST, 303, GET of the
-- Location: one cycle is two requests) or "bare" (bench/bare_app.py: htmx POSTs along one
-- made-up session, back to its first position at the end).
-- DIR/<thread>.txt: the thread's sessions, opened beforehand by bench.py, one a line:
-- "<form action> <revision> <csrf_token> <answer>". Each answer's next form (revision and
-- token) is parsed from the response; at an end step (no form) the next session starts.
-- MAX: answers per session before taking the next (0: until the end step).
-- done() prints RESULT counted errors sessions_taken ran_out duration_us, then TAKEN and the
-- sessions each thread took, in thread order.

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local function parse(body)
  local _, e, url = body:find('<form class="answers" method="post" action="([^"]+)"')
  if not url then return nil end
  local rest = body:sub(e)
  local token = rest:match('name="csrf_token" value="([^"]+)"')
  local revision = rest:match('name="revision" value="(%d+)"')
  local answer = rest:match('name="answer" value="([^"]+)"')
  if not (token and revision and answer) then return nil end
  return {url = url, revision = revision, token = token, answer = answer}
end

local function take()
  answered = 0
  if mode == "bare" then return sessions[1] end
  if taken >= #sessions then
    ran_out = ran_out + 1
    return nil
  end
  taken = taken + 1
  return sessions[taken]
end

function init(args)
  mode, max_answers = args[1], tonumber(args[3]) or 0
  sessions = {}
  for line in io.lines(args[2] .. "/" .. id .. ".txt") do
    local url, revision, token, answer = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    table.insert(sessions, {url = url, revision = revision, token = token, answer = answer})
  end
  counted, errors, taken, ran_out, answered = 0, 0, 0, 0, 0
  follow = nil -- no-JS: the Location of the 303 to GET next
  form = take()
end

function request()
  if follow then return wrk.format("GET", follow) end
  if not form then return wrk.format("GET", "/ready") end -- out of sessions (reported)
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  if mode ~= "nojs" then headers["HX-Request"] = "true" end
  return wrk.format("POST", form.url, headers, "answer=" .. form.answer .. "&revision="
                    .. form.revision .. "&csrf_token=" .. form.token)
end

local function next_form(body)
  answered = answered + 1
  local nxt = parse(body)
  if nxt == nil or (max_answers > 0 and answered >= max_answers) then return take() end
  return nxt
end

function response(status, headers, body)
  if follow then
    follow = nil
    if status ~= 200 then
      errors = errors + 1
      form = take()
      return
    end
    counted = counted + 1
    form = next_form(body)
    return
  end
  if not form then return end
  if mode == "nojs" then
    if status == 303 and headers["Location"] then
      follow = headers["Location"]:gsub("^https?://[^/]+", "")
    else
      errors = errors + 1
      form = take()
    end
    return
  end
  if status ~= 200 then
    errors = errors + 1
    form = take()
    return
  end
  counted = counted + 1
  form = next_form(body)
end

function done(summary, latency, requests)
  local counted_, errors_, taken_, ran_out_ = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    counted_ = counted_ + t:get("counted")
    errors_ = errors_ + t:get("errors")
    taken_ = taken_ + t:get("taken")
    ran_out_ = ran_out_ + t:get("ran_out")
  end
  local e = summary.errors
  errors_ = errors_ + e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT %d %d %d %d %d\n", counted_, errors_, taken_, ran_out_,
                         summary.duration))
  local per = {}
  for _, t in ipairs(threads) do table.insert(per, tostring(t:get("taken"))) end
  io.write("TAKEN " .. table.concat(per, " ") .. "\n")
end
