// apollo-upload-client through the kit's Apollo link: alice sends an image picked as a File
// (createImageMessage's `file`, one multipart request), then sends it to bob; bob's history has
// the image with its renditions and URLs signed for him, and the original URL serves the bytes.
import { readFile } from "node:fs/promises";
import { createImqlApolloClient } from "../src/apollo.js";
import {
  CreateImageMessageDocument,
  GetC2CHistoryMessageListDocument,
  request,
  SendMessageDocument,
} from "../src/index.js";
import { gateway, login, run } from "./harness.js";

run(async () => {
  const [alice, bob] = await Promise.all([login("alice"), login("bob")]);
  const bytes = await readFile(process.env["IMQL_IMAGE"] ?? "");
  const requests: { multipart: boolean }[] = [];
  const recordingFetch: typeof fetch = (input, init) => {
    requests.push({ multipart: init?.body instanceof FormData });
    return fetch(input, init);
  };
  const client = createImqlApolloClient({ httpUrl: gateway.httpUrl, token: () => alice.token, fetch: recordingFetch });

  const file = new File([bytes], "red.png", { type: "image/png" });
  const created = await client.mutate({ mutation: CreateImageMessageDocument, variables: { file } });
  const id = created.data?.createImageMessage.id ?? "";
  const sent = await client.mutate({ mutation: SendMessageDocument, variables: { id, receiver: "bob" } });
  client.stop();

  const history = await request(
    gateway.httpUrl,
    GetC2CHistoryMessageListDocument,
    { userID: "alice", count: 1 },
    { token: bob.token },
  );
  const [message] = history.getC2CHistoryMessageList;
  const images = message?.imageElem?.imageList ?? [];
  const origin = images.find((i) => i.type === "V2TIM_IMAGE_TYPE_ORIGIN");
  const served = origin ? await fetch(origin.url) : null;
  const servedBytes = served ? Buffer.from(await served.arrayBuffer()) : Buffer.alloc(0);
  return {
    requests,
    senderView: (created.data?.createImageMessage.messageInfo.imageElem?.imageList ?? []).map((i) => i.type),
    sentMsgID: sent.data?.sendMessage.msgID ?? "",
    historyMsgID: message?.msgID ?? "",
    elemType: message?.elemType ?? "",
    images: images.map((i) => ({
      type: i.type,
      width: i.width,
      height: i.height,
      size: i.size,
      signedFor: new URL(i.url).searchParams.get("u"),
    })),
    uploadedSize: bytes.length,
    servedStatus: served?.status ?? 0,
    servedSameBytes: servedBytes.equals(bytes),
  };
});
