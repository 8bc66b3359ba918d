"""The Strawberry schema: types, inputs, enums, thin resolvers and subscriptions.

`build_schema()` assembles it; `schema/schema.graphql` is its SDL, kept in the repository for
frontend codegen (`imql schema` prints it; a test fails when file and code disagree).
"""

from schema.build import build_schema

__all__ = ["build_schema"]
