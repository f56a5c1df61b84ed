#!/usr/bin/env python3
"""bench/run helper: activates the system administrator of a fresh server (password change and
TOTP set-up), creates a user to read back, times logins, sets up a two-step approval process
with an initiator and an approver, and prints shell assignments:
TOKEN=… USER_ID=… LOGIN_MS=… WF_INITIATOR=… WF_APPROVER=…"""
import base64, hashlib, hmac, json, statistics, struct, subprocess, sys, time, urllib.request

binary, db_url, base = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def totp(secret):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time() // 30)), hashlib.sha1).digest()
    off = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


accounts = json.loads(subprocess.run([binary, "admin", "init", "--json", "--database", db_url],
                                     check=True, capture_output=True, text=True).stdout)["accounts"]
sysadmin = next(a for a in accounts if a["role"] == "system")
token = call("POST", "/api/v1/auth/login",
             {"username": "sysadmin", "password": sysadmin["password"]})["token"]
password = "Bench#Pass-2026x"
call("POST", "/api/v1/auth/password",
     {"old_password": sysadmin["password"], "new_password": password}, token)
secret = call("POST", "/api/v1/auth/totp/enroll", {}, token)["secret"]
call("POST", "/api/v1/auth/totp/confirm", {"code": totp(secret)}, token)
dept = call("POST", "/api/v1/departments", {"code": "BENCH", "name": "压测部"}, token)
user = call("POST", "/api/v1/users", {"username": "bench.user", "name": "压测用户",
                                      "department_id": dept["id"], "password": password}, token)
times = []
for _ in range(10):
    t0 = time.perf_counter()
    call("POST", "/api/v1/auth/login", {"username": "bench.user", "password": password})
    times.append((time.perf_counter() - t0) * 1000)


def session_of(username):
    r = call("POST", "/api/v1/auth/login", {"username": username, "password": password})
    if r["must_change_password"]:
        call("POST", "/api/v1/auth/password",
             {"old_password": password, "new_password": password + "!"}, r["token"])
        r = call("POST", "/api/v1/auth/login", {"username": username, "password": password + "!"})
    return r["token"]


# Issue #5: start + approve + approve of a two-step process (the approver acts on both steps).
initiator = call("POST", "/api/v1/users", {"username": "wf.initiator", "name": "发起人",
                                           "department_id": dept["id"], "password": password},
                 token)
approver = call("POST", "/api/v1/users", {"username": "wf.approver", "name": "审批人",
                                          "department_id": dept["id"], "password": password},
                token)
step = lambda sid: {"id": sid, "kind": "approval",
                    "approvers": [{"rule": "user", "user_id": approver["id"]}]}
call("POST", "/api/v1/workflow/definitions", {
    "key": "bench.two_steps", "name": "两步审批", "form_type": "oa.penalty_waiver",
    "graph": {"nodes": [{"id": "start", "kind": "start"}, step("a"), step("b"),
                        {"id": "end", "kind": "end"}],
              "edges": [{"from": "start", "to": "a"}, {"from": "a", "to": "b"},
                        {"from": "b", "to": "end"}]}}, token)
print(f"TOKEN={token} USER_ID={user['id']} LOGIN_MS={statistics.median(times):.1f} "
      f"WF_INITIATOR={session_of('wf.initiator')} WF_APPROVER={session_of('wf.approver')} "
      f"WF_DEPT={dept['id']} WF_PERSON={initiator['id']}")
