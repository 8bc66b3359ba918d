"""One-to-one messages: `openim/*` (send, import, history, recall, read, unread, modify, receipts)
and their extensions `openim_msg_ext_http_svc/*`; global mutes `openconfigsvr/*`."""

from __future__ import annotations

from gateway.engine.rest.registry import Commands

openim = Commands("openim", invalid_code=90009)
extensions = Commands("openim_msg_ext_http_svc", invalid_code=90009)
config = Commands("openconfigsvr", invalid_code=90009)

REGISTRIES = (openim, extensions, config)
