"""Each service serves a browsable page of its API, without a key, whose script and styles it
serves itself: the page opens where no CDN is reachable."""

import re

import pytest
from flask import Flask
from sqlalchemy import Engine

from tests.support.apps import planner_app, traininglog_app

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("make_app", [traininglog_app, planner_app], ids=["traininglog", "planner"])
def test_the_docs_page_and_everything_it_loads_come_from_the_service(
    sqlite_engine: Engine, make_app
) -> None:
    app: Flask = make_app(sqlite_engine)
    client = app.test_client()
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert loaded, html
    for url in loaded:
        assert url.startswith("/"), f"{url} is not served by the service"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.get_data()) > 1000, url
    assert '"/openapi.json"' in html
    assert client.get("/docs/assets/index.html").status_code == 404
