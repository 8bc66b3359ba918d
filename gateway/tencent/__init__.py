"""The Tencent Cloud backend (IMQL_BACKEND=tencent): imql's graph in front of a real Tencent Cloud
Chat app, over Tencent's server REST API v4 and its webhooks (../shared/tencent/MAPPING.md).

- `client`: `TencentRestClient`, the one way out to Tencent (sig, envelope, retries, timeouts,
  metrics), and `check_tencent_api` for start-up and readiness checks;
- `errors`: Tencent's REST codes -> the V2TIM codes imql answers;
- `limits`: Tencent's per-endpoint frequency limits, as token buckets shared through Redis;
- `webhooks`: `POST /tencent/callback`: Tencent's callbacks checked (Sign, RequestTime, SdkAppid),
  answered at once, de-duplicated and queued on Redis;
- `inbound`: the queued callbacks decoded into typed events for the backend's handler, by a
  worker on every replica, with the gateway's own REST calls' echoes dropped.

Tencent's wire format itself (envelope codes, field readers, MsgBody, MsgKey) is `gateway.v4`,
shared with the embedded engine's REST server. This package never imports `gateway.engine`.
"""
