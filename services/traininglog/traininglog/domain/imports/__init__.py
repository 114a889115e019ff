"""Imports of what wearables really export (Health Connect JSON, FIT activity files), mapped to
Backtrack's own events through explicit, versioned tables. Pure: no I/O."""
