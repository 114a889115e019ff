"""Page links: signed, for one user, refused once changed, expired or signed with another secret."""

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtrack_shared.user_key import UserKey
from planner.adapters.page_links import LinkRefused, PageLink, PageLinks, page_link_secret

SECRET = "s" * 40
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LINK = PageLink(UserKey("acme", "patient-7"), "clinic", False, NOW + timedelta(hours=24))


def test_a_link_opens_to_its_user_and_issuer_until_it_expires():
    links = PageLinks(SECRET)
    token = links.issue(LINK)
    assert links.open(token, NOW) == LINK
    assert links.open(token, LINK.expires_at - timedelta(seconds=1)) == LINK
    with pytest.raises(LinkRefused, match="expired"):
        links.open(token, LINK.expires_at)


@given(st.data())
def test_any_changed_character_is_refused(data: st.DataObject):
    links = PageLinks(SECRET)
    token = links.issue(LINK)
    where = data.draw(st.integers(0, len(token) - 1))
    other = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.").filter(
            lambda c: c != token[where]
        )
    )
    changed = token[:where] + other + token[where + 1 :]
    try:
        opened = links.open(changed, NOW)
    except LinkRefused:
        return
    # base64's last character carries spare bits: a change there may decode to the same bytes,
    # which is the same link, never another one.
    assert opened == LINK


def test_a_cut_link_or_another_planners_link_is_refused():
    token = PageLinks(SECRET).issue(LINK)
    with pytest.raises(LinkRefused, match="not valid"):
        PageLinks(SECRET).open(token[:-5], NOW)
    with pytest.raises(LinkRefused, match="not valid"):
        PageLinks("t" * 40).open(token, NOW)


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError, match="32"):
        PageLinks("short")


def test_the_secret_file_is_made_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "data" / "page-link-secret"
    made = page_link_secret("", path)
    assert len(made) >= 32 and page_link_secret("", path) == made
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert page_link_secret("given" * 8, path) == "given" * 8


def test_planners_starting_together_share_one_whole_secret(tmp_path):
    path = tmp_path / "page-link-secret"
    start = threading.Barrier(12)

    def first_start() -> str:
        start.wait()
        return page_link_secret("", path)

    with ThreadPoolExecutor(12) as pool:
        secrets = list(pool.map(lambda _: first_start(), range(12)))
    assert len(set(secrets)) == 1 and len(secrets[0]) >= 32
    assert [p.name for p in tmp_path.iterdir()] == ["page-link-secret"]  # no draft left
