// The imql client kit: generated types and typed documents (src/generated/graphql.ts, from
// src/operations/*.graphql and schema/schema.graphql), and transport helpers that need no client
// library beyond graphql-ws / graphql-sse. Apollo helpers: ./apollo.ts (imported on its own).
export * from "./generated/graphql.js";
export * from "./http.js";
export * from "./ws.js";
export * from "./sse.js";
export * from "./follow.js";
