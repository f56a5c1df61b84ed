-- wrk script (issue #5): start + approve + approve of a two-step process, repeated. Each
-- response says what comes next: a pending task to approve, or a completed instance (a cycle).
-- Environment: WF_INITIATOR, WF_APPROVER (tokens), WF_DEPT, WF_PERSON (form fields).
local initiator = os.getenv("WF_INITIATOR")
local approver = os.getenv("WF_APPROVER")
local start_body = string.format(
  '{"definition_key":"bench.two_steps","form":{"penalty_no":"B-1","issuing_department_id":"%s",'
  .. '"person_id":"%s","amount":10,"request":"reduce","reason":"压测"}}',
  os.getenv("WF_DEPT"), os.getenv("WF_PERSON"))
local queue = {}
-- Globals, so done() can read them from each thread with thread:get().
completed = 0
errors = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  local task = table.remove(queue, 1)
  if task then
    return wrk.format("POST", "/api/v1/workflow/tasks/" .. task .. "/approve",
      { ["Authorization"] = "Bearer " .. approver, ["Content-Type"] = "application/json" }, "{}")
  end
  return wrk.format("POST", "/api/v1/workflow/instances",
    { ["Authorization"] = "Bearer " .. initiator, ["Content-Type"] = "application/json" },
    start_body)
end

function response(status, headers, body)
  if status ~= 200 and status ~= 201 then
    errors = errors + 1
    return
  end
  local task = string.match(body,
    '"id":"(%d+)","instance_id":"%d+","node_id":"[ab]","node_name":"[^"]*","assignee_id":"%d+",'
    .. '"assignee_name":"[^"]*","kind":"%a+","status":"pending"')
  if task then
    table.insert(queue, task)
  elseif string.find(body, '"status":"approved","created_at"', 1, true) then
    completed = completed + 1
  end
end

function done(summary, latency, requests)
  local total, errs = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("completed")
    errs = errs + t:get("errors")
  end
  io.write(string.format("cycles %d errors %d seconds %.3f\n", total, errs,
    summary.duration / 1e6))
end
