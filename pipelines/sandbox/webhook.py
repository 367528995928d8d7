"""A loopback webhook receiver: POST /webhook/<name> with a JSON body is kept and answered as Slack does ("ok").

    >>> sandbox.url("/webhook/desk")                      # what a webhook destination's URL variable holds
    >>> sandbox.options["webhooks"][-1]                   # {'path': '/webhook/desk', 'json': {...}, 'headers': {...}}

Faults are the sandbox's own, by prefix: `sandbox.set_fault("/webhook/", "status:500", times=1)` answers the next
POST with a 500, as a receiver having a bad minute does. A body that is not JSON gets 400 (Slack's invalid_payload).
"""

from __future__ import annotations

import json

from pipelines.sandbox.server import Reply, Request


def register(sandbox) -> None:
    sandbox.options.setdefault("webhooks", [])

    def receive(request: Request) -> Reply:
        if request.method != "POST":
            return Reply(status=405, body=b"method_not_allowed", content_type="text/plain")
        try:
            body = json.loads(request.body)
        except ValueError:
            return Reply(status=400, body=b"invalid_payload", content_type="text/plain")
        sandbox.options["webhooks"].append({"path": request.path, "json": body, "headers": request.headers})
        return Reply(body=b"ok", content_type="text/plain")

    sandbox.route("/webhook/", receive)
