"""Sessions: login, tokens, multi-device rules, presence and user status."""
