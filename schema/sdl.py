"""The schema's SDL as kept in schema/schema.graphql."""

from __future__ import annotations

from pathlib import Path

from schema.build import build_schema

SDL_PATH = Path(__file__).with_name("schema.graphql")


def export_sdl() -> str:
    return str(build_schema()).rstrip("\n") + "\n"
