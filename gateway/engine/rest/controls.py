"""`ForbidCallbackControl`: the callbacks a REST send asks not to cause."""

from __future__ import annotations

from gateway.origin import forbid_callbacks
from gateway.v4.callbacks import FORBID_CONTROLS
from gateway.v4.fields import Body


def apply_forbid_callback_control(body: Body) -> None:
    """Read the request's `ForbidCallbackControl` (refusing unknown values) and keep its callbacks
    from being sent for the rest of this request."""
    controls = body.strings("ForbidCallbackControl", [], max_items=len(FORBID_CONTROLS), min_items=0)
    if unknown := set(controls) - set(FORBID_CONTROLS):
        raise body.error(f"ForbidCallbackControl: unknown value(s) {sorted(unknown)}; {', '.join(FORBID_CONTROLS)}")
    if controls:
        forbid_callbacks(controls)
