// An independent ActivityPub server follows the bridge's account and reports what it receives.
//
// Usage: node fedify-follower.mjs '{"handle": "acct:blog@127.0.0.1:PORT"}'
// A Fedify (@fedify/fedify) federation with one actor, "alice", served over HTTP on
// 127.0.0.1 (a port of its own): it resolves the handle (WebFinger, then the actor),
// sends a signed Follow to the actor's inbox, and prints one JSON line on stdout for
// every activity its inboxes accept. Fedify's inbox verifies each request's HTTP
// signature (fetching the bridge's key) before a listener sees the activity, so a line
// is printed only for what verified. The first line is {"ready": ORIGIN, "follow": ID}.
// It runs until stdin closes.

import { serveFederation } from "./serve-federation.mjs";
import {
  createFederation, generateCryptoKeyPair, MemoryKvStore,
} from "@fedify/fedify";
import { Accept, Create, Delete, Endpoints, Follow, Person, Reject, Update } from "@fedify/fedify/vocab";

const task = JSON.parse(process.argv[2]);
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
const keys = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const say = (doc) => process.stdout.write(JSON.stringify(doc) + "\n");

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "alice") return null;
    const [pair] = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Alice",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pair.cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "alice" ? [keys] : []));

const report = (kind) => async (ctx, activity) => {
  const json = await activity.toJsonLd({ format: "compact" });
  say({ received: kind, id: activity.id?.href, actor: activity.actorId?.href, activity: json });
};
federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, report("Accept"))
  .on(Reject, report("Reject"))
  .on(Create, report("Create"))
  .on(Update, report("Update"))
  .on(Delete, report("Delete"))
  .onError((_ctx, error) => say({ error: String(error) }));

const origin = await serveFederation(federation);

const ctx = federation.createContext(new URL(origin), undefined);
const blog = await ctx.lookupObject(task.handle);
if (blog == null) throw new Error(`cannot resolve ${task.handle}`);
const follow = new Follow({
  id: new URL(`${origin}/follows/1`), actor: ctx.getActorUri("alice"), object: blog.id,
});
say({ ready: origin, blog: blog.id.href, follow: follow.id.href });
await ctx.sendActivity({ identifier: "alice" }, blog, follow);
say({ sent: "Follow" });

process.stdin.resume();
process.stdin.on("end", () => { server.close(); process.exit(0); });
