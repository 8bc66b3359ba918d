// Apollo's persisted-queries link against imql's automatic persisted queries: the first request
// sends only the document's hash and is answered PersistedQueryNotFound; the link sends it again
// with the document, which registers it; later requests (a new client, over POST, then GET) send
// the hash alone and are answered from it.
import { createImqlApolloClient, sha256Hex } from "../src/apollo.js";
import { GetUsersInfoDocument } from "../src/index.js";
import { gateway, login, run } from "./harness.js";

interface Exchange {
  method: string;
  hash: string | null;
  sentDocument: boolean;
  /** The SHA-256 of the document sent with the hash (registration): it must be the hash. */
  documentSha256: string | null;
  status: number;
  errors: string[];
  userIDs: string[];
}

run(async () => {
  const alice = await login("alice");
  const exchanges: Exchange[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const method = init?.method ?? "GET";
    const url = new URL(String(input));
    const body =
      method === "GET"
        ? { query: url.searchParams.get("query"), extensions: JSON.parse(url.searchParams.get("extensions") ?? "null") }
        : JSON.parse(String(init?.body));
    const response = await fetch(input, init);
    const answer = await response.clone().json();
    exchanges.push({
      method,
      hash: body.extensions?.persistedQuery?.sha256Hash ?? null,
      sentDocument: typeof body.query === "string" && body.query.length > 0,
      documentSha256: body.query ? await sha256Hex(body.query) : null,
      status: response.status,
      errors: (answer.errors ?? []).map((e: { message: string }) => e.message),
      userIDs: (answer.data?.getUsersInfo ?? []).map((u: { userID: string }) => u.userID),
    });
    return response;
  };
  const query = async (useGETForHashedQueries: boolean) => {
    const client = createImqlApolloClient({
      httpUrl: gateway.httpUrl,
      token: () => alice.token,
      persistedQueries: { useGETForHashedQueries },
      uploads: false,
      fetch: recordingFetch,
    });
    const result = await client.query({ query: GetUsersInfoDocument, variables: { userIDList: ["alice"] } });
    client.stop();
    return result.data?.getUsersInfo.map((u) => u.userID) ?? [];
  };
  const answers = [await query(false), await query(false), await query(true)];
  return { answers, exchanges };
});
