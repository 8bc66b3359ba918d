"""The IM domain: the SDK's classes, enums and listener events, free of GraphQL and Redis."""
