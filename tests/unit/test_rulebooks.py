"""Earlier rules versions stay replayable: an audit of history they made still reproduces it."""

import dataclasses
import hashlib
from pathlib import Path

import planner.domain.frozen.r2025_06_1 as r2025_06_1
from planner.domain import RULES_VERSION
from planner.domain.rulebooks import CURRENT, RULEBOOKS, rulebook
from planner.domain.versions import audit, audit_rules, replay_versions
from tests.support.logged_events import EVENTS

OLD = "2025.06-1"


def test_every_rules_version_ever_live_is_known_and_today_s_is_current():
    assert set(RULEBOOKS) == {OLD, RULES_VERSION}
    assert rulebook(None) is CURRENT and CURRENT.version == RULES_VERSION != OLD
    assert rulebook("1999.01-1") is None


def test_history_made_by_an_earlier_version_is_audited_under_it_and_reproduces():
    old = RULEBOOKS[OLD]
    recorded = replay_versions(EVENTS, rules=old)
    assert {v.rules_version for v in recorded} == {OLD}
    assert audit_rules(recorded) is old
    report = audit(recorded, replay_versions(EVENTS, rules=old), rules=old)
    assert report["reproduced"] and report["rules_version"] == OLD


def test_history_made_by_several_versions_is_audited_under_today_s_rules():
    recorded = replay_versions(EVENTS)
    mixed = [dataclasses.replace(recorded[0], rules_version=OLD), *recorded[1:]]
    assert audit_rules(mixed) is CURRENT
    assert audit_rules([]) is CURRENT


# The frozen version's sources, as they were when 2026.12-1 replaced it. Editing them would change
# routines recorded under that version: fixes go into planner.domain, never here.
FROZEN_SHA256 = "fc0a3be08793fbc00943ecc45d4ddd8751d9db236cd6ef84dfc7499456b4d739"


def test_a_frozen_rules_version_is_never_edited():
    root = Path(r2025_06_1.__file__).parent
    digest = hashlib.sha256()
    for source in sorted(root.rglob("*.py")):
        digest.update(source.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(source.read_bytes())
    assert digest.hexdigest() == FROZEN_SHA256
