"""Property-based test of the API against its own OpenAPI document (schemathesis), over
HTTP to the real service: whatever a client sends to any operation, valid or not, the service
answers without a server error (5xx). Bounded: ``EXAMPLES`` generated cases per operation
(sync operations as a station, the others as admin, so authorisation passes and the
generated input reaches the handlers)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import Central

EXAMPLES = 30


def exercise(op: schemathesis.APIOperation, headers: dict[str, str], url: str,
             failures: list[str]) -> None:
    """Send ``EXAMPLES`` generated requests to one operation; note every 5xx."""

    @given(case=op.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        resp = case.call(base_url=url, headers=headers, timeout=60)
        if resp.status_code >= 500:
            failures.append(f"{op.method.upper()} {op.path}: {resp.status_code} "
                            f"{resp.text[:300]} for {case.as_curl_command()}")

    run()


def test_no_server_errors_on_any_generated_request(central: Central) -> None:
    schema = schemathesis.openapi.from_url(central.url + "/openapi.json")
    station = central.station()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        op = result.ok()
        operations += 1
        who = station if op.path.startswith("/v1/sync/") else "admin"
        exercise(op, {"Authorization": f"Bearer {central.tokens[who]}"}, central.url,
                 failures)
    assert operations == 17  # every operation of the document (the app declares 17)
    assert not failures, "\n".join(failures[:10])
