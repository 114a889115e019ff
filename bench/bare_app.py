"""The baseline of figure 2: a bare Flask POST endpoint under waitress with the service's thread
count. It parses the JSON body, as traininglog does, and answers 201 with a small JSON.

`python -m bench.bare_app PORT THREADS`
"""

import itertools
import sys

import waitress
from flask import Flask, request

app = Flask("bare")
positions = itertools.count(1)


@app.post("/v1/events")
def post_event() -> tuple[dict[str, object], int]:
    document = request.get_json()
    return {"event_id": document["event_id"], "position": next(positions)}, 201


@app.get("/readyz")
def ready() -> dict[str, str]:
    return {"status": "ready"}


if __name__ == "__main__":
    port, threads = int(sys.argv[1]), int(sys.argv[2])
    waitress.serve(app, host="127.0.0.1", port=port, threads=threads, _quiet=True)
