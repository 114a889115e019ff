"""Rules version 2025.06-1, frozen on 2026-12-01 when 2026.12-1 replaced it. Do not edit."""

from planner.domain.frozen.r2025_06_1.engine import derive_routine
from planner.domain.frozen.r2025_06_1.incremental import IncrementalFold
from planner.domain.frozen.r2025_06_1.rules_table import RULES_VERSION

__all__ = ["RULES_VERSION", "IncrementalFold", "derive_routine"]
