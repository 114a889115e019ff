"""Page links and the FHIR export through the planner's Flask app on the real databases: who
may issue a link, what a link opens (one user, while its issuer may see them, until it
expires), and a Bundle that erasure empties."""

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fhir.resources.bundle import Bundle
from flask import Flask
from sqlalchemy import Engine

from backtrack_shared.user_key import UserKey
from planner.adapters.page_links import PageLink, PageLinks
from tests.factories import baseline, new_user_id, pain, workout
from tests.keys import KEYS
from tests.support.apps import (
    apply_all,
    as_client,
    feed_after,
    head,
    planner_app,
    traininglog_app,
)

pytestmark = pytest.mark.integration

SECRET = "page-link-secret-for-the-tests-" + "x" * 16


@pytest.fixture
def log(engine: Engine) -> Flask:
    return traininglog_app(engine)


@pytest.fixture
def plan(engine: Engine) -> Flask:
    return planner_app(engine, PageLinks(SECRET))


@pytest.fixture
def acme_user(engine: Engine, log: Flask) -> str:
    """A user of ACME's with a baseline, a workout and two pain reports, applied."""
    user, before = new_user_id(), head(log)
    acme = as_client(log, "acme")
    for document in (
        baseline(user),
        workout(user, day=1),
        pain(user, score=2, timing="during", day=1),
        pain(user, score=1, timing="next_morning", day=2),
    ):
        assert acme.post("/v1/events", json=document).status_code == 201
    apply_all(engine, feed_after(log, before))
    return user


def issue(plan: Flask, client_id: str, user_id: str, **query: str) -> Any:
    path = f"/v1/users/{user_id}/page-links"
    return as_client(plan, client_id).post(path, query_string=query, json={})


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_a_link_opens_its_users_page_without_a_key(plan: Flask, acme_user: str):
    before = datetime.now(UTC)
    answer = issue(plan, "acme", acme_user)
    assert answer.status_code == 201
    link = answer.get_json()
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert before + timedelta(hours=24) - timedelta(seconds=2) <= expires_at
    assert expires_at <= datetime.now(UTC) + timedelta(hours=24)
    assert KEYS.key["acme"] not in link["url"]

    page = plan.test_client().get(path_of(link["url"]))  # no Authorization header at all
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert acme_user in html and "Today's routine" in html
    for chart in ("chart-pain", "chart-sessions", "chart-load", "chart-acwr"):
        assert f'id="{chart}"' in html and f'aria-labelledby="{chart}-title"' in html
    assert "<script" not in html and KEYS.key["acme"] not in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]

    # As of an instant: the page the events up to then made (the baseline alone).
    as_of = "2026-09-01T12:00:00Z"
    early = plan.test_client().get(path_of(link["url"]) + f"&as_of={as_of}")
    assert early.status_code == 200 and "2026-09-01 12:00" in early.get_data(as_text=True)


def test_an_expiry_is_chosen_within_limits(plan: Flask, acme_user: str):
    path = f"/v1/users/{acme_user}/page-links"
    short = as_client(plan, "acme").post(path, json={"expires_in_s": 600}).get_json()
    left = datetime.fromisoformat(short["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=9) < left <= timedelta(minutes=10)
    for wrong in (10, 8 * 24 * 3600, "soon"):
        refused = as_client(plan, "acme").post(path, json={"expires_in_s": wrong})
        assert refused.status_code == 422
        assert "expires_in_s" in refused.get_json()["errors"]["json"]


def test_only_a_client_that_sees_the_user_gets_a_link(plan: Flask, acme_user: str):
    assert issue(plan, "globex", acme_user).status_code == 404  # another company's user
    assert issue(plan, "globex", acme_user, owner="acme").status_code == 404
    assert issue(plan, "ops", acme_user, owner="acme").status_code == 201  # an operator
    assert as_client(plan, None).post(f"/v1/users/{acme_user}/page-links").status_code == 401
    assert issue(plan, "acme", new_user_id()).status_code == 404


def test_a_changed_expired_or_foreign_link_opens_nothing(plan: Flask, acme_user: str, engine):
    url = path_of(issue(plan, "acme", acme_user).get_json()["url"])
    token = parse_qs(urlsplit(url).query)["link"][0]
    browser = plan.test_client()
    page = f"/v1/users/{acme_user}/page"

    other = new_user_id()
    refusals = {
        "no link": (page, 401),
        "changed": (f"{page}?link={token[:-4]}{'AAAA' if token[-4:] != 'AAAA' else 'BBBB'}", 401),
        "another user's path": (f"/v1/users/{other}/page?link={token}", 403),
        "another owner": (f"{page}?link={token}&owner=globex", 403),
        "signed elsewhere": (
            f"{page}?link="
            + PageLinks("y" * 40).issue(
                PageLink(
                    UserKey("acme", acme_user), "acme", False, datetime.now(UTC) + timedelta(1)
                )
            ),
            401,
        ),
        "expired": (
            f"{page}?link="
            + PageLinks(SECRET).issue(
                PageLink(
                    UserKey("acme", acme_user),
                    "acme",
                    False,
                    datetime.now(UTC) - timedelta(seconds=1),
                )
            ),
            401,
        ),
    }
    for name, (path, status) in refusals.items():
        answer = browser.get(path)
        assert answer.status_code == status, name
        assert answer.get_json()["message"], name
    assert "expired" in browser.get(refusals["expired"][0]).get_json()["message"]
    # A browser gets the refusal as a page.
    as_html = browser.get(refusals["changed"][0], headers={"Accept": "text/html"})
    assert as_html.status_code == 401 and "cannot be shown" in as_html.get_data(as_text=True)


def test_a_granted_clients_links_close_when_the_grant_is_revoked(
    engine: Engine, log: Flask, plan: Flask, acme_user: str
):
    ops, start = as_client(log, "ops"), head(log)
    grant = f"/v1/users/{acme_user}/grants/clinic?owner=acme"
    ops.put(grant)
    apply_all(engine, feed_after(log, start))
    link = issue(plan, "clinic", acme_user, owner="acme")
    assert link.status_code == 201
    url = path_of(link.get_json()["url"])
    assert "owner=acme" in url
    assert plan.test_client().get(url).status_code == 200

    revoked_at = head(log)
    ops.delete(grant)
    apply_all(engine, feed_after(log, revoked_at))
    assert plan.test_client().get(url).status_code == 404


def test_the_fhir_bundle_is_for_audit_readers_and_erasure_empties_it(
    engine: Engine, log: Flask, plan: Flask, acme_user: str
):
    fhir = f"/v1/users/{acme_user}/fhir"
    answer = as_client(plan, "acme").get(fhir)
    assert answer.status_code == 200 and answer.mimetype == "application/fhir+json"
    bundle = answer.get_json()
    Bundle.parse_obj(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Observation") == 2 and kinds.count("Patient") == 1
    assert kinds.count("CarePlan") == kinds.count("Provenance") >= 1
    assert as_client(plan, "reader").get(fhir).status_code == 403  # routine:read only
    assert as_client(plan, "globex").get(fhir).status_code == 404
    assert as_client(plan, "globex").get(fhir, query_string={"owner": "acme"}).status_code == 404
    url = path_of(issue(plan, "acme", acme_user).get_json()["url"])

    before = head(log)
    assert as_client(log, "ops").delete(f"/v1/users/{acme_user}?owner=acme").status_code == 200
    apply_all(engine, feed_after(log, before))
    emptied = as_client(plan, "acme").get(fhir)
    assert emptied.status_code == 200 and emptied.get_json()["entry"] == []
    Bundle.parse_obj(emptied.get_json())
    assert (
        as_client(plan, "ops").get(fhir, query_string={"owner": "acme"}).get_json()["entry"] == []
    )
    assert as_client(plan, "globex").get(fhir, query_string={"owner": "acme"}).status_code == 404
    assert plan.test_client().get(url).status_code == 404  # the page link opens nothing now
