"""Earlier rules versions, each frozen as it was when it made routines.

A recorded routine version must stay reproducible under the rules that made it, so a version's
modules are never edited once a newer `RULES_VERSION` is live: fixes go into the live rules in
`planner.domain`. Only `planner.domain.rulebooks` imports from here.
"""
