"""The attribute naming a group event's share key on its GraphQL root (schema.execution.executor):
here, apart, so that resolvers that render differently for shared events (schema.media_urls) can
read it without importing the executor, which imports them."""

SHARE_ATTRIBUTE = "_imql_share_key"
