"""The events the fault tests post: for each user a baseline, then workouts and pain reports
day after day, interleaved across users the way many apps would send them."""

from typing import Any

from tests.factories import baseline, new_user_id, pain, workout


def workload(users: int, events: int) -> tuple[list[str], list[dict[str, Any]]]:
    user_ids = [new_user_id() for _ in range(users)]
    per_user = events // users
    documents = []
    for step in range(per_user):
        for user_id in user_ids:
            if step == 0:
                documents.append(baseline(user_id))
            elif step % 2:
                documents.append(workout(user_id, day=step))
            else:
                documents.append(pain(user_id, score=step % 5, timing="after", day=step))
    return user_ids, documents
