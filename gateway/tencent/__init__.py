"""The Tencent Cloud backend: imql's graph in front of a real Tencent Cloud Chat app (REST v4 and webhooks)."""
