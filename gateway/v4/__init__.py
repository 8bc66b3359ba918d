"""Tencent Cloud IM's server wire format (REST API v4 and third-party callbacks), in one place.

Both sides of imql speak it: the embedded engine serves it (`gateway.engine.rest`, the REST v4
server, and `gateway.engine.callbacks`, the callbacks it sends), and the Tencent Cloud backend
calls it. So what is Tencent's wire format and nothing else lives here: the answer envelope and
its common codes (`envelope`), request-body field readers that refuse with Tencent's codes
(`fields`), `MsgBody` <-> imql message content (`msgbody`), and callback signing (`signing`).
No engine, no web framework, no HTTP client: plain data in, plain data out.

Field names and casing follow ../shared/tencent/FIXTURES.md exactly, including Tencent's oddities.
"""
