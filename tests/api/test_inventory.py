"""Issue #7 items 5-7 (IT-5, IT-7): inventories from the real FusionInventory agent (Debian's
fusioninventory-agent, over its own protocol), matched to assets or queued for review; the
software policy (the allow list wins) and the address plan checked on every inventory;
violations assigned to the custodian and their department head; IP address management by the
IT department only; hostile inventories (DOCTYPE entities, deep nesting, wrong encoding, bad
UTF-8, a zlib bomb, truncated streams) refused without harm. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
import zlib

import pytest

from conftest import assert_problem
from test_auth import activate_user, grant_role, org  # noqa: F401  (org: fixture)

ALL = ["assets:equipment:read", "assets:equipment:write", "assets:inventory:read",
       "assets:inventory:write", "assets:network:read", "assets:network:write",
       "assets:violations:read", "assets:violations:write"]
AGENT = shutil.which("fusioninventory-agent") or "/usr/bin/fusioninventory-agent"


@pytest.fixture(scope="module")
def it(org):
    """dave in the IT department (kind it) holds every assets permission; alice (head of A1)
    may keep the archive and plan addresses, but is not in IT; carol in A1 is a custodian."""
    sys = org["sys"]
    r = sys.post("/api/v1/departments", {"code": "IT", "name": "信息管理部", "kind": "it"})
    assert r.status == 201, r
    org["depts"]["IT"] = r.json()["id"]
    r = sys.post("/api/v1/users", {"username": "dave", "name": "赵工", "employee_no": "Edave",
                                   "department_id": org["depts"]["IT"]})
    assert r.status == 201, r
    org["users"]["dave"] = r.json()
    a1 = sys.get(f"/api/v1/departments/{org['depts']['A1']}").json()
    r = sys.patch(f"/api/v1/departments/{org['depts']['A1']}",
                  {"head_user_id": org["users"]["alice"]["id"]}, a1["etag"])
    assert r.status == 200, r
    grant_role(org, "dave", "inv_it", ALL, "all")
    grant_role(org, "alice", "inv_a", ["assets:equipment:read", "assets:equipment:write",
                                       "assets:network:read", "assets:network:write"], "all")
    return org


def new_asset(s, tag, custodian=None, **extra):
    r = s.post("/api/v1/assets", {"asset_tag": tag, "category": "desktop", "name": "办公电脑",
                                  "status": "in_stock", **extra})
    assert r.status == 201, r
    a = r.json()
    if custodian:
        r = s.post(f"/api/v1/assets/{a['id']}/actions", {"action": "issue",
                                                         "custodian_id": custodian})
        assert r.status == 200, r
        a = r.json()
    return a


def agent_token(dave, name="门诊楼"):
    r = dave.post("/api/v1/inventory/agents", {"name": name})
    assert r.status == 201, r
    assert r.json()["token"].startswith("agt_")
    return r.json()


def run_agent(server, token, tmp_path, extra_env=None):
    """One run of the real agent against the server: PROLOG, then the INVENTORY."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           **(extra_env or {})}
    p = subprocess.run(
        [AGENT, "--server", f"http://127.0.0.1:{server.port}/api/v1/inventory/agent",
         "--user", "site", "--password", token, "--tasks", "inventory", "--no-httpd",
         "--logger", "stderr", "--timeout", "60", "--debug"],
        env=env, capture_output=True, text=True, errors="replace", timeout=180,
        cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stderr


def violations(s, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    r = s.get(f"/api/v1/violations?{qs}&limit=200")
    assert r.status == 200, r
    return r.json()["items"]


def machine_ips():
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    return [a for a in out if ":" not in a and not a.startswith("127.")]


def test_real_agent_inventory_lands_on_its_asset(it, tmp_path):
    assert os.path.exists(AGENT), "make test installs Debian's fusioninventory-agent"
    dave, alice = activate_user(it, "dave"), activate_user(it, "alice")
    server, carol = it["server"], it["users"]["carol"]["id"]
    # The policy: wrk (an HTTP load generator) is an attack tool; curl is prohibited as
    # "unrelated" and then allowed by name: the allow list wins.
    for rule in ({"kind": "prohibit", "category": "hacking", "name_pattern": "wrk"},
                 {"kind": "prohibit", "category": "unrelated", "name_pattern": "CURL*"},
                 {"kind": "allow", "category": "other", "name_pattern": "curl"}):
        assert dave.post("/api/v1/software-rules", rule).status == 201
    token = agent_token(dave)["token"]

    # Nothing in the archive knows the machine yet: it waits for review. A process with a
    # command line longer than any field the server keeps (a build's, say) is in the
    # inventory too, and must not get it refused.
    long_cmd = subprocess.Popen(["sh", "-c", "sleep 120", "x" * 40000])
    try:
        log = run_agent(server, token, tmp_path)
    finally:
        long_cmd.kill()
    assert "sending prolog request" in log
    queue = dave.get("/api/v1/inventory/queue?status=pending").json()["items"]
    (tmp_path / "agent.log").write_text(log)
    assert len(queue) == 1, (queue, log[-4000:])
    q = queue[0]
    assert q["software_count"] > 100 and q["macs"] and q["agent_name"] == "门诊楼"
    for ip in machine_ips():
        assert ip in q["addresses"].split(","), (ip, q)
    assert not dave.get("/api/v1/violations").json()["items"]

    # IT links it to the asset it is; the inventory is applied there.
    asset = new_asset(alice, "PC-AGENT-1", custodian=carol, serial="")
    r = dave.post(f"/api/v1/inventory/queue/{q['id']}/link", {"asset_id": asset["id"]})
    assert r.status == 200 and r.json()["outcome"] == "matched", r
    m = dave.get(f"/api/v1/assets/{asset['id']}/machine").json()
    names = {s["name"] for s in m["software"]}
    assert {"wrk", "curl", "fusioninventory-agent"} <= names
    assert m["software_count"] == len(m["software"]) and m["os"] and m["hostname"]
    assert set(machine_ips()) <= {a["address"] for a in m["addresses"]}
    found = violations(dave, asset_id=asset["id"], status="open")
    assert [(v["kind"], v["subject"]) for v in found] == [("prohibited_software", "wrk")], found
    v = found[0]
    # Assigned to the custodian and her department head, in their to-do lists.
    assert (v["user_id"], v["head_id"]) == (carol, it["users"]["alice"]["id"])
    carol_s = activate_user(it, "carol")
    for s in (carol_s, alice):
        mine = violations(s, mine="true")
        assert [x["id"] for x in mine] == [v["id"]]
        todo = s.get("/api/v1/todo/tasks").json()["items"]
        assert any(t["object_type"] == "violation" and t["object_id"] == v["id"] for t in todo)
    # Another custodian's violations are not carol's business.
    assert carol_s.get(f"/api/v1/violations/{v['id']}").status == 200
    bob = activate_user(it, "bob")
    assert_problem(bob.get(f"/api/v1/violations/{v['id']}"), 404, "not_found")

    # The next run is matched by its device id, without review; IT moves the machine's address
    # to another asset, which the inventory then shows as a conflict; the rule on wrk is
    # withdrawn, so that violation clears.
    ip = machine_ips()[0]
    net = ".".join(ip.split(".")[:3]) + ".0/24"
    r = dave.post("/api/v1/subnets", {"cidr": net, "name": "办公网"})
    assert r.status == 201, r
    other = new_asset(dave, "PC-OTHER")
    r = dave.post(f"/api/v1/subnets/{r.json()['id']}/allocations",
                  {"address": ip, "asset_id": other["id"]})
    assert r.status == 201, r
    wrk_rule = [x for x in dave.get("/api/v1/software-rules").json()["items"]
                if x["name_pattern"] == "wrk"][0]
    assert dave.req("DELETE", f"/api/v1/software-rules/{wrk_rule['id']}").status == 204
    run_agent(server, token, tmp_path)
    assert not dave.get("/api/v1/inventory/queue?status=pending").json()["items"]
    found = violations(dave, asset_id=asset["id"])
    by = {(x["kind"], x["subject"]): x["status"] for x in found}
    assert by[("prohibited_software", "wrk")] == "cleared"
    assert by[("address_conflict", ip)] == "open", by
    agents = dave.get("/api/v1/inventory/agents").json()["items"]
    assert agents[0]["inventories"] == 2 and agents[0]["last_used_at"]
    # Every ingestion is audited, by the agent, not by a person.
    ev = it["aud"].get("/api/v1/audit/events?action=assets.inventory.receive&limit=10").json()
    assert len(ev["items"]) == 2 and all(e["actor_user_id"] is None for e in ev["items"]), ev
    assert all("门诊楼" in str(e["changes"]) for e in ev["items"])

    # A revoked token is refused, with the challenge the agent answers.
    aid = agents[0]["id"]
    assert dave.post(f"/api/v1/inventory/agents/{aid}/revoke").status == 204
    r = server.post("/api/v1/inventory/agent", body=zlib.compress(PROLOG),
                    headers=basic("site", token) | ZLIB)
    assert_problem(r, 401, "unauthorized")
    assert r.header("WWW-Authenticate").startswith("Basic realm=")


PROLOG = b"""<?xml version="1.0" encoding="UTF-8" ?>
<REQUEST><DEVICEID>test-host-2026-12-01</DEVICEID><QUERY>PROLOG</QUERY><TOKEN>12345678</TOKEN></REQUEST>"""
ZLIB = {"Content-Type": "application/x-compress-zlib"}


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def inventory_xml(device, serial="", mac="52:54:00:12:34:56", addresses=(), software=(),
                  envs=(), encoding="UTF-8", virtual=False):
    nets = "".join(
        f"<NETWORKS><DESCRIPTION>eth0</DESCRIPTION><MACADDR>{mac}</MACADDR>"
        f"<IPADDRESS{'6' if ':' in a else ''}>{a}</IPADDRESS{'6' if ':' in a else ''}>"
        f"<VIRTUALDEV>0</VIRTUALDEV></NETWORKS>" for a in addresses) or \
        f"<NETWORKS><DESCRIPTION>eth0</DESCRIPTION><MACADDR>{mac}</MACADDR>" \
        f"<VIRTUALDEV>{int(virtual)}</VIRTUALDEV></NETWORKS>"
    soft = "".join(f"<SOFTWARES><NAME>{n}</NAME><PUBLISHER>{p}</PUBLISHER><VERSION>1.0</VERSION>"
                   f"</SOFTWARES>" for n, p in software)
    env = "".join(f"<ENVS><KEY>{k}</KEY><VAL>{v}</VAL></ENVS>" for k, v in envs)
    return (f'<?xml version="1.0" encoding="{encoding}" ?><REQUEST><CONTENT>'
            f"<HARDWARE><NAME>{device}</NAME><MEMORY>8192</MEMORY></HARDWARE>"
            f"<BIOS><SSN>{serial}</SSN><SMODEL>OptiPlex 7090</SMODEL></BIOS>"
            f"{nets}{soft}{env}</CONTENT><DEVICEID>{device}-2026</DEVICEID>"
            f"<QUERY>INVENTORY</QUERY></REQUEST>").encode()


def upload(s, body, ctype="application/xml"):
    return s.req("POST", "/api/v1/inventory/uploads", headers={"Content-Type": ctype},
                 json_body=None) if body is None else \
        s.server.request("POST", "/api/v1/inventory/uploads", body=body,
                         headers=s.headers({"Content-Type": ctype}))


def test_matching_by_serial_and_mac_and_the_address_plan(it):
    dave, alice = activate_user(it, "dave"), activate_user(it, "alice")
    carol = it["users"]["carol"]["id"]
    by_serial = new_asset(dave, "PC-SN-1", custodian=carol, serial="CN0X1234")
    r = upload(dave, inventory_xml("ws-serial", serial="CN0X1234"))
    assert r.status == 200, r
    assert (r.json()["outcome"], r.json()["asset_id"], r.json()["matched_by"]) == \
        ("matched", by_serial["id"], "serial")
    # A junk serial never matches, even when an asset carries it.
    new_asset(dave, "PC-JUNK", serial="To be filled by O.E.M.")
    r = upload(dave, inventory_xml("ws-junk", serial="To be filled by O.E.M.",
                                   mac="52:54:00:aa:bb:01"))
    assert r.json()["outcome"] == "queued", r
    # The MAC address a previous inventory recorded finds the asset under a new device id.
    r = upload(dave, inventory_xml("ws-bridge", mac="52:54:00:12:34:56", virtual=True))
    assert r.json()["outcome"] == "queued", "a virtual interface's MAC identifies nothing"
    r = upload(dave, inventory_xml("ws-serial-renamed", mac="52:54:00:12:34:56"))
    assert (r.json()["outcome"], r.json()["matched_by"]) == ("matched", "mac"), r

    # The plan: 10.20.0.0/24 with DHCP .100-.199; IT only.
    subnet = {"cidr": "10.20.0.0/24", "name": "门诊楼 3 层", "vlan": 20, "gateway": "10.20.0.1",
              "dhcp_start": "10.20.0.100", "dhcp_end": "10.20.0.199"}
    assert_problem(alice.post("/api/v1/subnets", subnet), 403, "it_department_only")
    carol_s = activate_user(it, "carol")
    assert_problem(carol_s.post("/api/v1/subnets", subnet), 403, "forbidden")
    assert_problem(carol_s.get("/api/v1/subnets"), 403, "forbidden")
    r = dave.post("/api/v1/subnets", subnet)
    assert r.status == 201 and r.json()["family"] == 4, r
    sid = r.json()["id"]
    for bad, field in ((dict(subnet, cidr="10.20.0.5/24"), "body.cidr"),
                       (dict(subnet, cidr="10.20.300.0/24"), "body.cidr"),
                       (dict(subnet, cidr="10.30.0.0/24", gateway="10.31.0.1"), "body.gateway"),
                       (dict(subnet, cidr="10.30.0.0/24", gateway="", dhcp_start="10.30.0.9",
                             dhcp_end="10.30.0.2"), "body.dhcp_end"),
                       (dict(subnet, cidr="10.30.0.0/24", gateway="", dhcp_start="",
                             dhcp_end="", vlan=5000), "body.vlan")):
        assert_problem(dave.post("/api/v1/subnets", bad), 422, "validation_failed", field)
    assert_problem(dave.post("/api/v1/subnets", {"cidr": "10.20.0.128/25"}), 409,
                   "address_conflict", "body.cidr")
    assert dave.post("/api/v1/subnets", {"cidr": "fd00:20::/64"}).json()["family"] == 6
    aid = by_serial["id"]
    alloc = lambda body: dave.post(f"/api/v1/subnets/{sid}/allocations", body)  # noqa: E731
    r = alloc({"address": "10.20.0.10", "asset_id": aid})
    assert r.status == 201 and r.json()["address"] == "10.20.0.10", r
    assert_problem(alloc({"address": "10.20.0.10", "asset_id": aid}), 409, "address_conflict",
                   "body.address")
    assert_problem(alloc({"address": "10.20.0.150", "asset_id": aid}), 409, "address_conflict",
                   "body.address")
    assert_problem(alloc({"address": "10.20.0.255", "asset_id": aid}), 422, "validation_failed",
                   "body.address")
    assert_problem(alloc({"address": "10.21.0.5", "asset_id": aid}), 422, "validation_failed",
                   "body.address")
    assert_problem(alloc({"address": "10.20.0.11"}), 422, "validation_failed", "body.asset_id")
    assert_problem(alice.post(f"/api/v1/subnets/{sid}/allocations",
                              {"address": "10.20.0.12", "asset_id": aid}), 403,
                   "it_department_only")
    assert_problem(alloc({"address": "10.20.0.1", "asset_id": aid}), 409, "address_conflict",
                   "body.address")  # the gateway
    first = alloc({"kind": "reservation", "note": "打印机"})
    assert first.status == 201 and first.json()["address"] == "10.20.0.2", first
    nxt = alloc({"kind": "reservation"})
    assert nxt.json()["address"] == "10.20.0.3", "the first free address, never the gateway"
    assert [x["address"] for x in
            dave.get(f"/api/v1/subnets/{sid}/allocations").json()["items"]] == \
        ["10.20.0.2", "10.20.0.3", "10.20.0.10"]
    assert dave.req("DELETE", f"/api/v1/ip-allocations/{nxt.json()['id']}").status == 204
    assert_problem(dave.req("DELETE", f"/api/v1/subnets/{sid}"), 409, "conflict")
    assert [x["address"] for x in
            dave.get(f"/api/v1/assets/{aid}/addresses").json()["items"]] == ["10.20.0.10"]

    # Inventories against the plan: a self-assigned address, a reserved one, a DHCP one (fine),
    # the allocated one (fine), and a proxy nobody approved. Credentials in it are never kept.
    xml = inventory_xml("ws-serial", serial="CN0X1234",
                        addresses=("10.20.0.10", "10.20.0.150", "10.20.0.33", "10.20.0.2",
                                   "192.168.9.9"),
                        envs=(("http_proxy", "http://zhang:S3cret@10.9.9.9:8080/"),))
    r = upload(dave, xml)
    assert r.json()["violations_opened"] == 3, r
    found = {(v["kind"], v["subject"]): v for v in violations(dave, asset_id=aid, status="open")}
    assert set(found) == {("address_mismatch", "10.20.0.33"), ("address_conflict", "10.20.0.2"),
                          ("unapproved_proxy", "10.9.9.9:8080")}, found
    assert "S3cret" not in str(violations(dave))
    # The same inventory again opens nothing new; approving the proxy clears its violation.
    assert upload(dave, xml).json()["violations_opened"] == 0
    assert dave.post("/api/v1/approved-proxies", {"address": "10.9.9.9:8080"}).status == 201
    assert_problem(dave.post("/api/v1/approved-proxies", {"address": "http://10.9.9.9:8080"}),
                   409, "conflict", "body.address")
    upload(dave, xml)
    statuses = {(v["kind"], v["subject"]): v["status"] for v in violations(dave, asset_id=aid)}
    assert statuses[("unapproved_proxy", "10.9.9.9:8080")] == "cleared"
    assert statuses[("address_mismatch", "10.20.0.33")] == "open"


def test_manual_violations_and_resolution(it):
    dave, alice = activate_user(it, "dave"), activate_user(it, "alice")
    carol = it["users"]["carol"]["id"]
    body = {"kind": "acceptable_use", "use_case": "b", "user_id": carol,
            "detail": "未经同意使用同事电脑"}
    for bad, field in (({**body, "use_case": "e"}, "body.use_case"),
                       ({**body, "kind": "prohibited_software"}, "body.kind"),
                       ({**body, "detail": ""}, "body.detail"),
                       ({k: v for k, v in body.items() if k != "user_id"}, "body.user_id"),
                       ({**body, "user_id": "999999"}, "body.user_id")):
        assert_problem(dave.post("/api/v1/violations", bad), 422, "validation_failed", field)
    assert_problem(alice.post("/api/v1/violations", body), 403, "forbidden")
    r = dave.post("/api/v1/violations", body)
    assert r.status == 201, r
    v = r.json()
    assert (v["source"], v["status"], v["head_id"]) == ("manual", "open",
                                                        it["users"]["alice"]["id"])
    carol_s = activate_user(it, "carol")
    assert_problem(carol_s.post(f"/api/v1/violations/{v['id']}/resolve",
                                {"resolution": "我自己说没事"}), 403, "forbidden")
    r = alice.post(f"/api/v1/violations/{v['id']}/resolve", {"resolution": "已谈话提醒"})
    assert r.status == 200 and r.json()["status"] == "resolved", r
    assert_problem(alice.post(f"/api/v1/violations/{v['id']}/resolve", {"resolution": "x"}),
                   409, "transition_not_allowed")
    assert not [t for t in alice.get("/api/v1/todo/tasks").json()["items"]
                if t["object_type"] == "violation" and t["object_id"] == v["id"]]
    assert_problem(dave.get("/api/v1/violations?status=bogus"), 422, "validation_failed",
                   "query.status")
    assert_problem(dave.get("/api/v1/violations?mine=yes"), 422, "validation_failed",
                   "query.mine")


def test_hostile_inventories_are_refused_without_harm(it):
    dave = activate_user(it, "dave")
    server = it["server"]
    token = agent_token(dave, "hostile")["token"]
    agent = lambda body, h=ZLIB: server.post("/api/v1/inventory/agent", body=body,  # noqa
                                              headers=basic("x", token) | h)
    before = dave.get("/api/v1/inventory/queue").json()["items"]
    # No credentials, wrong credentials, a person's password: the challenge.
    for headers in ({}, basic("x", "agt_wrong"), basic("dave", "Passw0rd!Passw0rd!"),
                    {"Authorization": "Basic !!!"}):
        r = server.post("/api/v1/inventory/agent", body=zlib.compress(PROLOG),
                        headers=headers | ZLIB)
        assert_problem(r, 401, "unauthorized")
        assert "Basic realm" in r.header("WWW-Authenticate")
    # The PROLOG is answered, compressed as asked, or plain.
    r = agent(zlib.compress(PROLOG))
    assert r.status == 200 and b"<RESPONSE>SEND</RESPONSE>" in zlib.decompress(r.body), r
    r = agent(PROLOG, {"Content-Type": "application/xml"})
    assert r.status == 200 and b"SEND" in r.body
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
              b"<REQUEST><DEVICEID>&lol2;</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>")
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b"<REQUEST><DEVICEID>&x;</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>")
    deep = (b"<REQUEST><CONTENT>" + b"<A>" * 200 + b"</A>" * 200 +
            b"</CONTENT><DEVICEID>d</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>")
    cases = [
        (b"this is not xml", 400, "invalid_inventory"),
        (b"<HTML><BODY>hello</BODY></HTML>", 400, "invalid_inventory"),
        (laughs, 400, "invalid_inventory"),
        (xxe, 400, "invalid_inventory"),
        (deep, 413, "payload_too_large"),
        (inventory_xml("gb", encoding="GB2312"), 400, "invalid_inventory"),
        (inventory_xml("badutf8").replace(b"<NAME>badutf8", b"<NAME>\xff\xfe"), 400,
         "invalid_inventory"),
        (b"<REQUEST><QUERY>INVENTORY</QUERY></REQUEST>", 400, "invalid_inventory"),
        (b"<REQUEST><DEVICEID>x</DEVICEID><QUERY>SNMPQUERY</QUERY></REQUEST>", 400,
         "invalid_inventory"),
        (b"<REQUEST><CONTENT><SOFTWARES><NAME>" + b"x" * 70000 +
         b"</NAME></SOFTWARES></CONTENT><DEVICEID>x</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>",
         413, "payload_too_large"),
    ]
    for body, status, code in cases:
        assert_problem(agent(zlib.compress(body)), status, code)
        assert_problem(upload(dave, body), status, code)
    # A zlib bomb: 1 GiB of zeros in about 1 MiB stops at the limit; a truncated stream is corrupt.
    bomb = zlib.compressobj(9)
    chunk = b"\0" * (1 << 20)
    data = bomb.compress(b"<REQUEST><DEVICEID>")
    for _ in range(1024):
        data += bomb.compress(chunk)
    data += bomb.flush()
    assert len(data) < 2 << 20
    assert_problem(agent(data), 413, "payload_too_large")
    assert_problem(agent(zlib.compress(inventory_xml("trunc"))[:-40]), 400, "invalid_inventory")
    # A person needs the permission to upload.
    carol = activate_user(it, "carol")
    assert_problem(upload(carol, inventory_xml("carol-pc")), 403, "forbidden")
    assert dave.get("/api/v1/inventory/queue").json()["items"] == before, "nothing was queued"
    assert server.get("/healthz").status == 200


def test_summaries_count_only_what_the_caller_may_see(it):
    dave, bob = activate_user(it, "dave"), activate_user(it, "bob")
    s = dave.get("/api/v1/assets/summary").json()
    assert s["total"] == dave.get("/api/v1/assets").json()["total"] > 0
    assert s["by_status"]["in_use"] == dave.get("/api/v1/assets?status=in_use").json()["total"]
    assert set(s["by_status"]) >= {"ordered", "in_stock", "in_use", "scrapped"}
    assert bob.get("/api/v1/assets/summary").json()["total"] == 0
    v = dave.get("/api/v1/violations/summary").json()
    open_ = violations(dave, status="open")
    assert sum(v["open_by_kind"].values()) == len(open_) > 0
    assert sum(d["open"] for d in v["open_by_department"]) == len(open_)
    names = {d["department_name"] for d in v["open_by_department"]}
    assert {x["department_name"] for x in open_} == names
    b = bob.get("/api/v1/violations/summary").json()
    assert b["open_by_department"] == [] and sum(b["open_by_kind"].values()) == 0
