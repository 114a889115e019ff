"""/readyz reports details (the planner's lag) beside its checks; they never decide readiness."""

from flask import Flask

from backtrack_shared.web import create_api, ops_blueprint


def client(**ops):
    app = Flask("probe")
    create_api(app, title="probe", version="1", description="probe").register_blueprint(
        ops_blueprint(**ops)
    )
    return app.test_client()


def test_details_ride_along_and_a_lag_is_not_unreadiness():
    answer = client(
        checks={"database": lambda: True}, details=lambda: {"queue_depth": 1200, "feed_lag": 900}
    ).get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "status": "ok",
        "checks": {"database": "ok"},
        "details": {"queue_depth": 1200, "feed_lag": 900},
    }


def test_without_details_the_body_is_as_before():
    answer = client(checks={"database": lambda: False}).get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {"status": "unavailable", "checks": {"database": "unavailable"}}


def test_a_degradation_turns_ok_into_degraded_but_stays_ready():
    """A planner with users it cannot apply still serves (their routines answer paused), but
    an operator must see it: never a green `ok`."""
    answer = client(
        checks={"database": lambda: True},
        degradations=lambda: {"unapplied_events": "2 users have events the planner set aside."},
    ).get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json() == {
        "status": "degraded",
        "checks": {"database": "ok", "unapplied_events": "degraded"},
        "degraded": {"unapplied_events": "2 users have events the planner set aside."},
    }


def test_unavailable_wins_over_degraded():
    answer = client(
        checks={"database": lambda: False}, degradations=lambda: {"unapplied_events": "1 user."}
    ).get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["status"] == "unavailable"


def test_nothing_degraded_is_ok():
    answer = client(checks={"database": lambda: True}, degradations=lambda: {}).get("/readyz")
    assert answer.get_json() == {"status": "ok", "checks": {"database": "ok"}}
