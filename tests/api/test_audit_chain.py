"""Issue #4 items 2 and 5, black-box: the gm suite (SM3 chain, SM2-signed checkpoints) end to
end, and two `custos serve` processes writing one database at once keep one linear, verifiable
chain (PostgreSQL: two servers behind a load balancer; SQLite: two processes on one file).
"""

from __future__ import annotations

import subprocess
import threading
import time

from conftest import CUSTOS_BIN, SLOW, child_env, sql_exec, wait_until


def cli(*args, db_url, key, suite="intl"):
    return subprocess.run([CUSTOS_BIN, *args, "--database", db_url, "--set",
                           f"audit.key_file={key}", "--set", f"audit.suite={suite}"],
                          capture_output=True, text=True, timeout=120, env=child_env())


def test_gm_suite_signs_with_sm2_over_an_sm3_chain(make_server, db_url, tmp_path):
    key = tmp_path / "gm.key"
    server = make_server(db_url=db_url, sets={"audit.suite": "gm", "audit.key_file": str(key),
                                              "audit.checkpoint_seconds": 1})
    assert key.read_text().startswith("gm:")
    assert sql_exec(db_url, "SELECT alg FROM audit_heads WHERE org_id = 1") == "sm3"
    for i in range(5):
        r = server.write(f"gm {i}")
        assert r.status == 201, r
    wait_until(lambda: sql_exec(db_url, "SELECT COUNT(*) FROM audit_checkpoints WHERE "
                                        "suite = 'gm'") not in ("", "0"),
               15 * SLOW, 0.2, "an SM2-signed checkpoint")
    anchor = tmp_path / "anchor.txt"
    out = cli("audit", "anchor", "--out", str(anchor), db_url=db_url, key=key, suite="gm")
    assert out.returncode == 0, out.stderr
    assert " gm " in anchor.read_text()
    out = cli("audit", "verify", "--anchor", str(anchor), db_url=db_url, key=key, suite="gm")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "intact" in out.stdout
    # The same key file is no Ed25519 key: verification with the intl suite cannot vouch for it.
    out = cli("audit", "verify", "--anchor", str(anchor), db_url=db_url, key=key, suite="intl")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "not an intl key" in out.stderr


def test_two_servers_keep_one_linear_chain(make_server, db_url, tmp_path):
    key = tmp_path / "audit.key"
    sets = {"audit.key_file": str(key), "audit.checkpoint_seconds": 1,
            "database.busy_timeout_ms": 20000}
    a = make_server(db_url=db_url, sets=sets)
    b = make_server(db_url=db_url, sets=sets)
    per_thread, threads_per_server = 25, 4
    errors = []

    def hammer(server, tag):
        conn = server.connection()
        try:
            for i in range(per_thread):
                r = server.write(f"{tag}-{i}", conn=conn)
                if r.status != 201:
                    errors.append(r)
        finally:
            conn.close()

    workers = [threading.Thread(target=hammer, args=(s, f"{n}-{t}"))
               for n, s in (("a", a), ("b", b)) for t in range(threads_per_server)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120 * SLOW)
    assert not errors, errors[:3]
    expected = 2 * threads_per_server * per_thread
    writes = int(sql_exec(db_url, "SELECT COUNT(*) FROM audit_events WHERE "
                                  "action = 'diagnostic.write'"))
    assert writes == expected
    # One chain: seqs 1..N without a gap or a repeat, each linked to the one before.
    count, low, high = sql_exec(db_url, "SELECT COUNT(*), MIN(seq), MAX(seq) FROM audit_events "
                                        "WHERE org_id = 1").split("|")
    assert (int(low), int(high)) == (1, int(count))
    broken = sql_exec(db_url, "SELECT COUNT(*) FROM audit_events e JOIN audit_events p ON "
                              "p.org_id = e.org_id AND p.seq = e.seq - 1 WHERE e.org_id = 1 AND "
                              "e.prev_hash <> p.hash")
    assert broken == "0"
    # Both servers signed checkpoints over the same chain without a clash, and it verifies.
    time.sleep(1.2)
    anchor = tmp_path / "anchor.txt"
    assert cli("audit", "anchor", "--out", str(anchor), db_url=db_url, key=key).returncode == 0
    out = cli("audit", "verify", "--anchor", str(anchor), db_url=db_url, key=key)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"records checked {int(count)}" in out.stdout


def test_a_configuration_change_between_starts_is_audited(make_server, db_url):
    """Checklist C13: configuration changes are recorded (the configuration is read at start,
    so a change shows as one record at the next start, naming each key before and after)."""
    import json as _json

    first = make_server(db_url=db_url, sets={"security.lockout_minutes": 30})
    first.stop_and_check()
    second = make_server(db_url=db_url, sets={"security.lockout_minutes": 15})
    rows = sql_exec(db_url, "SELECT changes FROM audit_events WHERE action = "
                            "'system.config.change' ORDER BY seq").splitlines()
    assert len(rows) == 2
    change = _json.loads(rows[-1])
    assert change["security.lockout_minutes"] == {"before": "30", "after": "15"}
    # Every key is there the first time, the database URL as `config check` shows it (any
    # password redacted, unit-tested with redact_url).
    assert "database.url" in _json.loads(rows[0])
    second.stop_and_check()
