// A stand-in for Bridgy Fed's Bluesky bot (@bsky.brid.gy@bsky.brid.gy), for tests/test_bluesky.py.
//
// Usage: node fedify-bot.mjs '{"answer": "accept" | "reject", "followBack": true | false}'
// A Fedify (@fedify/fedify) federation with one actor, "bot" (an Application, as Bridgy Fed's),
// served over HTTP on 127.0.0.1 (a port of its own), so that WebFinger `acct:bot@127.0.0.1:PORT`
// names it. Fedify's inbox verifies each request's HTTP signature (fetching the sender's key)
// before a listener sees the activity; a Follow of the bot is then answered with an Accept (or a
// Reject) that embeds it, sent to the follower's inbox, and with "followBack" the bot follows the
// follower in turn, as Bridgy Fed does. stdout, one JSON line each:
//   {"ready": ORIGIN, "handle": "@bot@127.0.0.1:PORT", "actor": ID}   once listening
//   {"received": TYPE, "id": ID, "actor": ID, "activity": {…}}        each activity the inbox accepted
//   {"sent": TYPE, "id": ID}                                          each activity the bot sent
//   {"error": TEXT}                                                   an inbox error
// It runs until stdin closes.

import { serveFederation } from "./serve-federation.mjs";
import { createFederation, generateCryptoKeyPair, MemoryKvStore } from "@fedify/fedify";
import { Accept, Application, Block, Endpoints, Follow, Reject, Undo } from "@fedify/fedify/vocab";

const task = JSON.parse(process.argv[2] || "{}");
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
const keys = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const say = (doc) => process.stdout.write(JSON.stringify(doc) + "\n");
let serial = 0;

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "bot") return null;
    const [pair] = await ctx.getActorKeyPairs(identifier);
    return new Application({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Bridgy Fed for Bluesky (stand-in)",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pair.cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "bot" ? [keys] : []));

const report = async (kind, activity) => {
  const json = await activity.toJsonLd({ format: "compact" });
  say({ received: kind, id: activity.id?.href, actor: activity.actorId?.href, activity: json });
};

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await report("Follow", follow);
    const follower = await follow.getActor(ctx);
    if (follower == null || follow.objectId?.href !== ctx.getActorUri("bot").href) return;
    const Answer = task.answer === "reject" ? Reject : Accept;
    const answer = new Answer({
      id: new URL(`/answers/${++serial}`, ctx.origin), actor: ctx.getActorUri("bot"), object: follow,
    });
    await ctx.sendActivity({ identifier: "bot" }, follower, answer);
    say({ sent: task.answer === "reject" ? "Reject" : "Accept", id: answer.id.href });
    if (task.followBack && task.answer !== "reject") {
      const back = new Follow({
        id: new URL(`/follows/${++serial}`, ctx.origin), actor: ctx.getActorUri("bot"), object: follower.id,
      });
      await ctx.sendActivity({ identifier: "bot" }, follower, back);
      say({ sent: "Follow", id: back.id.href });
    }
  })
  .on(Accept, (_ctx, accept) => report("Accept", accept))
  .on(Undo, (_ctx, undo) => report("Undo", undo))
  .on(Block, (_ctx, block) => report("Block", block)) // how an account opts out of Bridgy Fed
  .onError((_ctx, error) => say({ error: String(error) }));

const origin = await serveFederation(federation);
const ctx = federation.createContext(new URL(origin), undefined);
say({ ready: origin, handle: `@bot@${new URL(origin).host}`, actor: ctx.getActorUri("bot").href });

process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
