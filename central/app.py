"""The central service's HTTP API: an ASGI app (FastAPI) over a :class:`CentralStore`.

Every endpoint but ``/healthz``, ``/readyz`` and the OpenAPI document needs a bearer token
(:mod:`central.auth`); each route declares the :class:`~central.auth.Permission` it needs, and
a station is confined to its own facility (parcels, reports, pulls, pushes) and to its own
chain's heads. Wire models are the records' pydantic models (:mod:`parcels.records`,
:mod:`parcels.sync`); the document is at ``/openapi.json``.

Errors are typed, never a traceback: 401 (credentials), 403 (role or facility), 404 (unknown
parcel), 409 (illegal hold move; a push that forks or leaves a gap in the station's chain,
or is signed by a key other than the station's registered one), 413 (body over the limit),
422 (invalid input; an invalid push, a head that does not verify).
"""

# no "from __future__ import annotations": FastAPI reads the routes' annotations at run
# time, and they name closures of create_app

import io
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from parcels.aed import (
    ImportSummary,
    RowError,
    format_validation_error,
    import_rows,
    read_rows,
)
from parcels.audit import GENESIS, VerifyReport
from parcels.errors import (
    ConflictError,
    IllegalTransitionError,
    IntegrityError,
    ParcelNotFoundError,
    ParcelsError,
)
from parcels.query import parse_when
from parcels.records import AuditEvent, HoldRecord, HoldState, Parcel, ParcelFile
from parcels.s10 import validate_item_id
from parcels.stats import ComplianceRow, PositivityRow, hold_compliance, positivity
from parcels.store.base import CentralStore
from parcels.sync import (
    HoldConflict,
    KeyRegistration,
    PushOutcome,
    StationBatch,
    StationHead,
    SyncRefused,
    WorkBatch,
)

from .auth import GRANTS, Authenticator, AuthError, Permission, Principal, Role, ensure_schema

MAX_BODY = 256 * 1024 * 1024
"""Largest request body accepted (a push of a week's backlog goes in runs well below it)."""

PUBLIC = "public"


class ApiError(BaseModel):
    """Every error response."""

    model_config = ConfigDict(extra="forbid")

    detail: str
    reason: str | None = None
    seq: int | None = None


class HoldRequestBody(BaseModel):
    """Targeting asks that a parcel be held."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


class TransitionBody(BaseModel):
    """Move a hold on (released, seized, referred, not-found, held)."""

    model_config = ConfigDict(extra="forbid")

    state: HoldState
    note: str | None = Field(default=None, max_length=2000)


class Statistics(BaseModel):
    """Hold compliance by period and positivity by origin and category."""

    model_config = ConfigDict(extra="forbid")

    facility: str | None
    period: str
    hold_compliance: list[ComplianceRow]
    positivity_by_origin: list[PositivityRow]
    positivity_by_category: list[PositivityRow]


class Head(BaseModel):
    """The last event of the calling station's chain central holds (seq 0: none)."""

    model_config = ConfigDict(extra="forbid")

    station: str
    seq: int
    hash: str


class Health(BaseModel):
    """Liveness or readiness."""

    model_config = ConfigDict(extra="forbid")

    status: str
    schema_version: int | None = None


def _json(model: BaseModel | list[Any], status: int = 200) -> Response:
    """Serialise a model once, without FastAPI validating it again (the hot paths)."""
    if isinstance(model, list):
        body = "[" + ",".join(m.model_dump_json() for m in model) + "]"
    else:
        body = model.model_dump_json()
    return Response(content=body, media_type="application/json", status_code=status)


class _BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes (413) while reading it."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[
            MutableMapping[str, Any]]], send: Callable[[MutableMapping[str, Any]],
                                                       Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", ()):
            if k == b"content-length" and v.isdigit() and int(v) > self.limit:
                await self._refuse(send)
                return
        seen = 0

        async def counted() -> MutableMapping[str, Any]:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Callable[[MutableMapping[str, Any]], Awaitable[None]]
                      ) -> None:
        body = ApiError(detail=f"request body over {self.limit} bytes").model_dump_json()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body.encode()})


class _TooLarge(Exception):
    pass


_F = TypeVar("_F", bound=Callable[..., Any])


def _storable(line: int, row: Parcel | RowError) -> Parcel | RowError:
    """PostgreSQL text cannot hold U+0000: such a row is refused by itself, not its batch."""
    if isinstance(row, Parcel) and "\\u0000" in row.model_dump_json():
        return RowError(line=line, item_id=row.item_id,
                        reason="contains a NUL character (U+0000), which cannot be stored")
    return row


def create_app(store: CentralStore, *, max_body: int = MAX_BODY,
               on_ready: Callable[[], None] | None = None) -> FastAPI:
    """The service over ``store`` (which must offer ``connection()``, as
    :class:`parcels.store.postgres.PostgresStore` does).

    Parameters
    ----------
    store
        The central store; the app does not close it.
    max_body
        Largest request body in bytes.
    on_ready
        Called once the app has started (the server accepts requests from then on).
    """
    authenticator = Authenticator()
    connection: Callable[[], Any] = store.connection  # type: ignore[attr-defined]
    with connection() as con:
        ensure_schema(con)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        if on_ready is not None:
            on_ready()
        yield

    app = FastAPI(title="Interdict Central", version="1", lifespan=lifespan,
                  description=__doc__,
                  responses={401: {"model": ApiError}, 403: {"model": ApiError},
                             422: {"model": ApiError}})
    app.state.permissions = {}
    bearer = HTTPBearer(auto_error=False)

    # -- errors ---------------------------------------------------------------------------
    def error(status: int, detail: str, **extra: Any) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(ApiError(detail=detail, **extra).model_dump(), status_code=status,
                            headers=headers)

    @app.exception_handler(AuthError)
    async def _auth(_: Request, exc: AuthError) -> JSONResponse:
        return error(401, str(exc))

    @app.exception_handler(SyncRefused)
    async def _refused(_: Request, exc: SyncRefused) -> JSONResponse:
        status = {"fork": 409, "gap": 409, "key": 409, "facility": 403}.get(exc.reason, 422)
        return error(status, str(exc), reason=exc.reason, seq=exc.seq)

    @app.exception_handler(ParcelNotFoundError)
    async def _missing(_: Request, exc: ParcelNotFoundError) -> JSONResponse:
        return error(404, str(exc))

    @app.exception_handler(IllegalTransitionError)
    async def _illegal(_: Request, exc: IllegalTransitionError) -> JSONResponse:
        return error(409, str(exc))

    @app.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return error(409, str(exc))

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        return error(500, f"stored evidence failed its check: {exc}")

    @app.exception_handler(ValidationError)
    async def _invalid(_: Request, exc: ValidationError) -> JSONResponse:
        return error(422, format_validation_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e.get("loc", ()))
            parts.append(f"{loc}: {e.get('msg')}")
        return error(422, "; ".join(parts) or "invalid request")

    @app.exception_handler(ValueError)
    async def _value(_: Request, exc: ValueError) -> JSONResponse:
        return error(422, str(exc))

    @app.exception_handler(ParcelsError)
    async def _parcels(_: Request, exc: ParcelsError) -> JSONResponse:
        return error(422, str(exc))

    try:
        from psycopg import DataError
    except ImportError:  # pragma: no cover - the central extra installs it
        pass
    else:
        @app.exception_handler(DataError)
        async def _unstorable(_: Request, exc: DataError) -> JSONResponse:
            # e.g. a NUL character, which PostgreSQL text cannot hold: the input, not us
            return error(422, f"a value cannot be stored: {str(exc).splitlines()[0]}")

    # -- who is calling -------------------------------------------------------------------
    def needs(permission: Permission) -> Any:
        def principal(creds: Annotated[HTTPAuthorizationCredentials | None,
                                       Depends(bearer)]) -> Principal:
            with connection() as con:
                who = authenticator.authenticate(con, creds.credentials if creds else None)
            if who.role not in GRANTS[permission]:
                raise HTTPException(403, f"role {who.role.value} may not {permission.value}")
            return who

        return Depends(principal)

    def route(method: str, path: str, permission: Permission | str,
              **kw: Any) -> Callable[[_F], _F]:
        app.state.permissions[(method, path)] = permission
        decorate: Callable[[_F], _F] = app.api_route(path, methods=[method], **kw)
        return decorate

    def own_facility(who: Principal, item_id: str) -> None:
        if who.role is Role.STATION and store.facility_of(item_id) != who.facility:
            raise HTTPException(403, f"parcel {item_id} is not a parcel of facility "
                                     f"{who.facility}")

    ItemId = Annotated[str, Path(min_length=1, max_length=64,
                                 description="UPU S10 item id, e.g. RR473124829US")]

    # -- health ---------------------------------------------------------------------------
    @route("GET", "/healthz", PUBLIC, response_model=Health)
    def healthz() -> Health:
        """The process is alive."""
        return Health(status="ok")

    @route("GET", "/readyz", PUBLIC, response_model=Health,
           responses={503: {"model": ApiError}})
    def readyz() -> Response:
        """The database answers and holds this code's schema."""
        try:
            v = store.schema_version
        except Exception as exc:  # any database failure means: not ready
            return error(503, f"database not ready: {type(exc).__name__}: {exc}")
        return _json(Health(status="ready", schema_version=v))

    # -- AED and holds --------------------------------------------------------------------
    @route("POST", "/v1/aed", Permission.INGEST, response_model=ImportSummary,
           openapi_extra={"requestBody": {"required": True, "content": {
               "application/x-ndjson": {"schema": {"type": "string"}},
               "text/csv": {"schema": {"type": "string"}}}}})
    async def ingest(request: Request, who: Annotated[Principal, needs(Permission.INGEST)],
                     source: Annotated[str, Query(max_length=200)] = "http",
                     ) -> Response:
        """Import an AED batch (JSON lines, as ``interdict parcel import`` takes them; or
        flat CSV with ``Content-Type: text/csv``). Idempotent; each bad row is refused with
        its line number and the reason while the good rows import."""
        data = await request.body()
        fmt: Literal["jsonl", "csv"] = "csv" if request.headers.get(
            "content-type", "").startswith("text/csv") else "jsonl"

        def run() -> ImportSummary:
            rows = ((n, _storable(n, r)) for n, r in read_rows(io.BytesIO(data), fmt))
            return import_rows(store, rows, actor=who.name, source=f"{source} ({who.name})",
                               fmt=fmt)

        return _json(await run_in_threadpool(run))

    @route("POST", "/v1/parcels/{item_id}/hold", Permission.REQUEST_HOLD,
           response_model=HoldRecord, status_code=201)
    def request_hold(item_id: ItemId, body: HoldRequestBody,
                     who: Annotated[Principal, needs(Permission.REQUEST_HOLD)]) -> Response:
        """Request that a parcel be held."""
        hold = store.request_hold(validate_item_id(item_id), requested_by=who.name,
                                  reason=body.reason)
        return _json(hold, 201)

    @route("POST", "/v1/parcels/{item_id}/hold/transitions", Permission.MOVE_HOLD,
           response_model=HoldRecord, responses={409: {"model": ApiError}})
    def move_hold(item_id: ItemId, body: TransitionBody,
                  who: Annotated[Principal, needs(Permission.MOVE_HOLD)]) -> Response:
        """Move a hold on (see the hold workflow in ``docs/records.md``)."""
        return _json(store.transition(validate_item_id(item_id), body.state, actor=who.name,
                                      note=body.note))

    # -- reading --------------------------------------------------------------------------
    @route("GET", "/v1/parcels/{item_id}", Permission.READ_PARCEL, response_model=ParcelFile,
           responses={404: {"model": ApiError}})
    def get_parcel(item_id: ItemId, who: Annotated[Principal, needs(Permission.READ_PARCEL)]
                   ) -> Response:
        """Everything stored about a parcel: the AED, its hold, inspections and results."""
        item = validate_item_id(item_id)
        own_facility(who, item)
        return _json(store.get_parcel(item))

    @route("GET", "/v1/parcels/{item_id}/report", Permission.READ_REPORT,
           response_class=HTMLResponse, responses={404: {"model": ApiError}})
    def report(item_id: ItemId, who: Annotated[Principal, needs(Permission.READ_REPORT)]
               ) -> HTMLResponse:
        """The parcel's evidence report (one self-contained HTML page)."""
        from station.report.collect import collect_report
        from station.report.render import render_html

        item = validate_item_id(item_id)
        own_facility(who, item)
        view = collect_report(store, item, libs=None, station="central",
                              generated_by=who.name, database="central")
        return HTMLResponse(render_html(view))

    @route("GET", "/v1/stats", Permission.STATISTICS, response_model=Statistics)
    def stats(who: Annotated[Principal, needs(Permission.STATISTICS)],
              facility: Annotated[str | None, Query(max_length=64)] = None,
              period: Literal["day", "week", "month", "all"] = "month",
              since: Annotated[str | None, Query(alias="from", max_length=40)] = None,
              until: Annotated[str | None, Query(alias="to", max_length=40)] = None,
              ) -> Response:
        """Hold compliance (held ÷ requested, by request date) and positivity by origin and
        declared category, for one facility or all, over ``[from, to]`` (dates inclusive)."""
        lo = parse_when(since) if since else None
        hi = parse_when(until, end=True) if until else None
        return _json(Statistics(
            facility=facility, period=period,
            hold_compliance=hold_compliance(store, period=period, since=lo, until=hi,
                                            facility=facility),
            positivity_by_origin=positivity(store, by="origin", since=lo, until=hi,
                                            facility=facility),
            positivity_by_category=positivity(store, by="category", since=lo, until=hi,
                                              facility=facility)))

    @route("GET", "/v1/conflicts", Permission.CONFLICTS, response_model=list[HoldConflict])
    def conflicts(who: Annotated[Principal, needs(Permission.CONFLICTS)],
                  facility: Annotated[str | None, Query(max_length=64)] = None,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Response:
        """Hold moves pushed by stations that central did not apply (the documented rule)."""
        return _json(store.hold_conflicts(facility=facility, limit=limit))

    @route("GET", "/v1/audit/verify", Permission.VERIFY, response_model=VerifyReport)
    def verify(who: Annotated[Principal, needs(Permission.VERIFY)], deep: bool = False) -> Response:
        """Verify central's own audit chain and every record against it."""
        return _json(store.verify(deep=deep))

    @route("GET", "/v1/stations/{name}/heads", Permission.STATION_HEADS,
           response_model=list[StationHead])
    def heads(name: Annotated[str, Path(min_length=1, max_length=64)],
              who: Annotated[Principal, needs(Permission.STATION_HEADS)],
              after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
              limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> Response:
        """The signed heads of a station's chain central received and checked, in chain
        order (after ``after_seq``), each with the public key it verified under."""
        if who.role is Role.STATION and who.name != name:
            raise HTTPException(403, "a station may read only its own heads")
        return _json(store.station_heads(name, after_seq=after_seq, limit=limit))

    @route("GET", "/v1/stations/{name}/keys", Permission.STATION_HEADS,
           response_model=list[KeyRegistration])
    def keys(name: Annotated[str, Path(min_length=1, max_length=64)],
             who: Annotated[Principal, needs(Permission.STATION_HEADS)]) -> Response:
        """Central's record of a station's signing key (registered by its first push or
        pinned by an admin; rotated only by an admin), oldest first: the last one counts."""
        if who.role is Role.STATION and who.name != name:
            raise HTTPException(403, "a station may read only its own keys")
        return _json(store.station_key_history(name))

    @route("GET", "/v1/stations/{name}/events", Permission.STATION_EVENTS,
           response_model=list[AuditEvent])
    def station_events(name: Annotated[str, Path(min_length=1, max_length=64)],
                       who: Annotated[Principal, needs(Permission.STATION_EVENTS)],
                       since_seq: Annotated[int, Query(ge=1, le=2**62)] = 1,
                       limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Response:
        """A station's chain as central holds it."""
        return _json(store.station_events(name, since_seq=since_seq, limit=limit))

    @route("GET", "/v1/whoami", Permission.WHOAMI, response_model=Principal)
    def whoami(who: Annotated[Principal, needs(Permission.WHOAMI)]) -> Principal:
        """The credential's name, role and facility."""
        return who

    # -- sync -----------------------------------------------------------------------------
    def station_facility(who: Principal) -> str:
        if who.facility is None:  # issue() never makes one, but the table is data
            raise HTTPException(403, f"station credential {who.name!r} has no facility")
        return who.facility

    @route("GET", "/v1/sync/head", Permission.SYNC, response_model=Head)
    def sync_head(who: Annotated[Principal, needs(Permission.SYNC)]) -> Head:
        """Where central's copy of this station's chain ends: push from the next event."""
        h = store.station_head(who.name)
        return Head(station=who.name, seq=h[0] if h else 0, hash=h[1] if h else GENESIS)

    @route("GET", "/v1/sync/pull", Permission.SYNC, response_model=WorkBatch)
    def pull(who: Annotated[Principal, needs(Permission.SYNC)],
             since: Annotated[int, Query(ge=0, le=2**62)] = 0,
             limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> Response:
        """New AED and hold changes of this station's facility since a cursor."""
        return _json(store.work_since(station_facility(who), since, limit=limit))

    @route("POST", "/v1/sync/push", Permission.SYNC, response_model=PushOutcome,
           responses={409: {"model": ApiError}})
    def push(batch: StationBatch, who: Annotated[Principal, needs(Permission.SYNC)]) -> Response:
        """A run of this station's audit chain with the records it logs (idempotent; a fork
        or a gap is refused with 409 and nothing is stored)."""
        return _json(store.receive(batch, station=who.name, facility=station_facility(who)))

    app.add_middleware(_BodyLimit, limit=max_body)
    return app


def iter_routes(app: FastAPI) -> Iterator[tuple[str, str, Permission | str]]:
    """``(method, path, permission or "public")`` of every route the app declared."""
    for (method, path), perm in app.state.permissions.items():
        yield method, path, perm


__all__ = ["MAX_BODY", "PUBLIC", "ApiError", "create_app", "iter_routes"]
