
"""GET /routine answers a strong ETag and 304 on If-None-Match, so an app that polls moves no
routine it already holds; `Cache-Control: no-cache, private` makes every cache ask again."""

import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.factories import pain
from tests.support.apps import apply_all, as_client, feed_after, head

pytestmark = pytest.mark.integration


def test_the_routine_carries_a_strong_etag_naming_its_version(plan: Flask, acme_user: str) -> None:
    answer = as_client(plan, "acme").get(f"/v1/users/{acme_user}/routine")
    assert answer.status_code == 200
    etag = answer.headers["ETag"]
    assert not etag.startswith("W/"), etag
    assert etag.strip('"').split(".")[0] == str(answer.get_json()["version"])
    assert answer.headers["Cache-Control"] == "no-cache, private"


def test_if_none_match_with_the_current_etag_answers_304_without_a_body(
    plan: Flask, acme_user: str
) -> None:
    acme = as_client(plan, "acme")
    etag = acme.get(f"/v1/users/{acme_user}/routine").headers["ETag"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = acme.get(f"/v1/users/{acme_user}/routine", headers={"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.get_data() == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == "no-cache, private"


def test_a_new_routine_version_answers_200_with_a_new_etag(
    engine: Engine, log: Flask, plan: Flask, acme_user: str
) -> None:
    acme = as_client(plan, "acme")
    first = acme.get(f"/v1/users/{acme_user}/routine")
    before = head(log)
    # Pain well above the usual eases the routine back: a new version.
    assert (
        as_client(log, "acme").post("/v1/events", json=pain(acme_user, score=7)).status_code == 201
    )
    apply_all(engine, feed_after(log, before))
    second = acme.get(
        f"/v1/users/{acme_user}/routine", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    assert second.get_json()["applied_position"] > first.get_json()["applied_position"]


def test_another_clients_etag_reveals_nothing(plan: Flask, acme_user: str) -> None:
    """A client that may not see the user gets 404, whatever it sends."""
    answer = as_client(plan, "globex").get(
        f"/v1/users/{acme_user}/routine", headers={"If-None-Match": "*"}
    )
    assert answer.status_code == 404
    assert "ETag" not in answer.headers
