"""One module per SDK listener: its events as a GraphQL union and its subscription field."""
