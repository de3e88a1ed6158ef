"""Renders Home Assistant MQTT templates the way HA does, with Jinja2 itself (an independent engine).

stdin: a JSON list of {"template": str, "payload": str}; stdout: a JSON list, one per input, of
{"value": str} or {"error": str}. Like HA's render_with_possible_json_value, `value` is the payload
and `value_json` the payload parsed as JSON (absent when it is not JSON). HA only warns about an
undefined variable and renders it empty; here it is an error (StrictUndefined), so a template that
reads a key the state does not have fails the test instead of warning on every message.
"""

import json
import sys

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined)


def render(template: str, payload: str) -> dict:
    variables = {"value": payload}
    try:
        variables["value_json"] = json.loads(payload)
    except ValueError:
        pass
    try:
        return {"value": environment.from_string(template).render(variables)}
    except Exception as error:  # every Jinja error is a finding, reported with its message
        return {"error": f"{type(error).__name__}: {error}"}


jobs = json.load(sys.stdin)
json.dump([render(job["template"], job["payload"]) for job in jobs], sys.stdout)
