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
