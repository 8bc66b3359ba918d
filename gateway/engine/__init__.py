"""The embedded IM engine: every IM semantic implemented on Redis (the default backend)."""
