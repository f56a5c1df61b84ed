"""Issue #2 — durability (the kill -9 test): a write the server acknowledged with 201 survives a
SIGKILL of the server mid-load, on the engine under test."""

import http.client
import json
import threading
import time
import uuid

from conftest import ENGINE, SLOW

WRITES = "/api/v1/diagnostics/writes"


def _writer(server, tag, acked, stop, errors):
    conn = server.connection(timeout=10)
    seq = 0
    try:
        while not stop.is_set():
            seq += 1
            payload = f"{tag}-{seq}-{uuid.uuid4().hex}"
            try:
                conn.request("POST", WRITES, body=json.dumps({"payload": payload}).encode(),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone: this request was never acknowledged
            if r.status != 201:
                errors.append((r.status, body[:300]))
                continue
            try:
                doc = json.loads(body)
            except ValueError:
                errors.append(("truncated 201", body[:300]))
                continue
            if doc.get("payload") != payload:
                errors.append(("wrong payload echoed", doc, payload))
                continue
            acked.append((doc["id"], payload))
    finally:
        conn.close()


def test_acknowledged_writes_survive_kill_9(make_server, db_url):
    first = make_server(db_url=db_url)
    acked, errors = [], []
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(first, f"w{i}", acked, stop, errors))
               for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    assert all(t.is_alive() for t in threads), "writers stopped before the kill"
    n_before_kill = len(acked)
    first.kill9()  # while the writers are still running
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    assert n_before_kill >= 20, f"only {n_before_kill} writes acknowledged in 2 s: no load"
    print(f"{len(acked)} writes acknowledged ({n_before_kill} before the kill)")
    ids = [i for i, _ in acked]
    assert len(set(ids)) == len(ids), "an id was acknowledged twice"

    second = make_server(db_url=db_url)
    ready = second.get("/readyz")
    assert ready.status == 200, ready

    missing, wrong = [], []
    lock = threading.Lock()

    def check(chunk):
        conn = second.connection(timeout=30)
        try:
            for wid, payload in chunk:
                r = second.get(f"{WRITES}/{wid}", conn=conn)
                if r.status != 200:
                    with lock:
                        missing.append((wid, r.status))
                    continue
                got = r.json()
                if got["payload"] != payload or got["id"] != wid:
                    with lock:
                        wrong.append((wid, payload, got))
        finally:
            conn.close()

    chunks = [acked[i::4] for i in range(4)]
    readers = [threading.Thread(target=check, args=(c,)) for c in chunks]
    for t in readers:
        t.start()
    for t in readers:
        t.join(120 * SLOW)
    assert not missing, (f"{len(missing)} of {len(acked)} acknowledged writes lost after kill -9 "
                         f"({ENGINE}): {missing[:10]}")
    assert not wrong, wrong[:5]
    # The database is still writable after recovery, and new ids do not reuse acknowledged ones.
    r = second.write("after recovery")
    assert r.status == 201, r
    assert r.json()["id"] not in set(ids)
