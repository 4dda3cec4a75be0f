"""The whole role × endpoint matrix, over HTTP to the real service.

The table below is written from the issue's rules, independently of ``central.auth.GRANTS``.
The test walks every route the app has (its own and FastAPI's): a route missing from the
table fails, so a new endpoint cannot ship without its row. Each role (and no credential)
calls each route: allowed means neither 401 nor 403 (nor a server error), refused means 403
(401 without credentials).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from central.app import create_app
from parcels.store.postgres import PostgresStore
from parcels.sync import StationBatch
from tests.parcels.builders import aed, item_id

from .conftest import OTHER_FACILITY, Central

ALL = frozenset({"station", "targeting", "supervisor", "auditor", "admin", "anonymous"})
PUBLIC = ALL
READ_ALL = frozenset({"supervisor", "auditor", "admin"})

EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    # targeting: AED and hold requests
    ("POST", "/v1/aed"): frozenset({"targeting", "admin"}),
    ("POST", "/v1/parcels/{item_id}/hold"): frozenset({"targeting", "admin"}),
    # supervisors move holds on (release, seize, refer) and read everything
    ("POST", "/v1/parcels/{item_id}/hold/transitions"): frozenset({"supervisor", "admin"}),
    ("GET", "/v1/parcels/{item_id}"): READ_ALL | {"station", "targeting"},
    ("GET", "/v1/parcels/{item_id}/report"): READ_ALL | {"station"},
    ("GET", "/v1/stats"): READ_ALL,
    ("GET", "/v1/conflicts"): READ_ALL,
    ("GET", "/v1/stations/{name}/heads"): READ_ALL | {"station"},
    ("GET", "/v1/stations/{name}/keys"): READ_ALL | {"station"},
    ("GET", "/v1/stations/{name}/events"): READ_ALL,
    # auditors verify
    ("GET", "/v1/audit/verify"): frozenset({"auditor", "admin"}),
    ("GET", "/v1/whoami"): ALL - {"anonymous"},
    # a station pushes its own inspections and pulls its own facility's work
    ("GET", "/v1/sync/head"): frozenset({"station"}),
    ("GET", "/v1/sync/pull"): frozenset({"station"}),
    ("POST", "/v1/sync/push"): frozenset({"station"}),
}


def app_routes(db: str) -> set[tuple[str, str]]:
    with PostgresStore(db, max_connections=1) as store:
        app = create_app(store)
    out = set()
    for r in app.routes:
        assert isinstance(r, Route)
        for m in r.methods or ():
            if m != "HEAD":
                out.add((m, r.path))
    declared = set(app.state.permissions)
    assert declared <= out
    return out


def test_every_route_has_a_row(central: Central) -> None:
    routes = app_routes(central.db)
    missing = routes - set(EXPECTED)
    assert not missing, f"routes without a row in the role matrix: {sorted(missing)}"
    assert not set(EXPECTED) - routes, "rows for routes the app no longer has"


Call = Callable[[httpx.Client], httpx.Response]


def calls(central: Central, base: int, station: str) -> dict[tuple[str, str], Call]:
    own, other = item_id(base + 1), item_id(base + 2)
    fresh = iter(range(base + 100, base + 200))

    def ingest(c: httpx.Client) -> httpx.Response:
        return c.post("/v1/aed", content=json.dumps(aed(next(fresh))),
                      headers={"Content-Type": "application/x-ndjson"})

    def push(c: httpx.Client) -> httpx.Response:
        return c.post("/v1/sync/push", content=StationBatch(station=station, events=[])
                      .model_dump_json(), headers={"Content-Type": "application/json"})

    return {
        ("GET", "/healthz"): lambda c: c.get("/healthz"),
        ("GET", "/readyz"): lambda c: c.get("/readyz"),
        ("GET", "/openapi.json"): lambda c: c.get("/openapi.json"),
        ("GET", "/docs"): lambda c: c.get("/docs"),
        ("GET", "/docs/oauth2-redirect"): lambda c: c.get("/docs/oauth2-redirect"),
        ("GET", "/redoc"): lambda c: c.get("/redoc"),
        ("POST", "/v1/aed"): ingest,
        ("POST", "/v1/parcels/{item_id}/hold"):
            lambda c: c.post(f"/v1/parcels/{own}/hold", json={"reason": "risk 0.9"}),
        ("POST", "/v1/parcels/{item_id}/hold/transitions"):
            lambda c: c.post(f"/v1/parcels/{own}/hold/transitions",
                             json={"state": "not-found"}),
        ("GET", "/v1/parcels/{item_id}"): lambda c: c.get(f"/v1/parcels/{own}"),
        ("GET", "/v1/parcels/{item_id}/report"): lambda c: c.get(f"/v1/parcels/{own}/report"),
        ("GET", "/v1/stats"): lambda c: c.get("/v1/stats", params={"period": "week"}),
        ("GET", "/v1/conflicts"): lambda c: c.get("/v1/conflicts"),
        ("GET", "/v1/stations/{name}/heads"): lambda c: c.get(f"/v1/stations/{station}/heads"),
        ("GET", "/v1/stations/{name}/keys"): lambda c: c.get(f"/v1/stations/{station}/keys"),
        ("GET", "/v1/stations/{name}/events"):
            lambda c: c.get(f"/v1/stations/{station}/events"),
        ("GET", "/v1/audit/verify"): lambda c: c.get("/v1/audit/verify"),
        ("GET", "/v1/whoami"): lambda c: c.get("/v1/whoami"),
        ("GET", "/v1/sync/head"): lambda c: c.get("/v1/sync/head"),
        ("GET", "/v1/sync/pull"): lambda c: c.get("/v1/sync/pull", params={"since": 0}),
        ("POST", "/v1/sync/push"): push,
        "other-facility": lambda c: c.get(f"/v1/parcels/{other}"),
    }  # type: ignore[dict-item]


def test_role_matrix(central: Central, base: int) -> None:
    with central.client("targeting") as c:
        rows = [aed(base + 1, hold=True), aed(base + 2, facility=OTHER_FACILITY)]
        assert c.post("/v1/aed", content="\n".join(json.dumps(r) for r in rows),
                      headers={"Content-Type": "application/x-ndjson"}).status_code == 200
    station = central.station()
    table = calls(central, base, station)
    who = {"station": station, "targeting": "targeting", "supervisor": "supervisor",
           "auditor": "auditor", "admin": "admin", "anonymous": None}
    wrong: list[str] = []
    seen: dict[str, dict[str, int]] = {}
    for route in sorted(EXPECTED):
        for role in sorted(ALL):
            with central.client(who[role]) as c:
                r: Any = table[route](c)
            seen.setdefault(f"{route[0]} {route[1]}", {})[role] = r.status_code
            if r.status_code >= 500:
                wrong.append(f"{route} as {role}: server error {r.status_code} {r.text}")
            elif role in EXPECTED[route]:
                if r.status_code in (401, 403):
                    wrong.append(f"{route} as {role}: refused ({r.status_code}) but allowed")
            elif r.status_code != (401 if role == "anonymous" else 403):
                wrong.append(f"{route} as {role}: {r.status_code} but must be refused")
    assert not wrong, "\n".join(wrong)
    # the station is confined to its facility (and its own heads)
    with central.client(station) as c:
        assert table["other-facility"](c).status_code == 403  # type: ignore[index]
        assert c.get("/v1/stations/someone-else/heads").status_code == 403
        assert c.get("/v1/stations/someone-else/keys").status_code == 403


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer idt_0123456789abcdef_" + "x" * 43,
                                    "Basic dXNlcjpwYXNz", "Bearer not-a-token"])
def test_bad_credentials_are_401(central: Central, header: str) -> None:
    with httpx.Client(base_url=central.url) as c:
        r = c.get("/v1/whoami", headers={"Authorization": header} if header else {})
    assert r.status_code == 401, r.text


def test_revoked_credential_is_refused_at_once(central: Central) -> None:
    import psycopg

    from central.auth import revoke

    name = central.station()
    with central.client(name) as c:
        assert c.get("/v1/whoami").json()["name"] == name
        with psycopg.connect(central.db) as con:
            assert revoke(con, name)
        r = c.get("/v1/whoami")
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
