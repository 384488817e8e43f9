// A Fedify server that sends one post to all its followers: the other sender of bench/world.py.
//
// Usage: node fedify-sender.mjs TASK.json
//   TASK.json: {"followers": [[actorId, inbox, sharedInbox|null], …], "parallel": 0}
// A Fedify (@fedify/fedify) federation with Fedify's defaults but for what a server must
// choose: an in-memory KV store (MemoryKvStore) and Fedify's InProcessMessageQueue (with
// "parallel" > 0, wrapped in a ParallelMessageQueue of that many workers, as bench/world.py
// runs it by default: the bare queue handles one message at a time).
// One actor, "blog" (an RSA key, as the bridge's), whose followers dispatcher lists the
// followers given (one-shot, with their inboxes and shared inboxes). Served over HTTP on
// 127.0.0.1 (a port of its own) so receivers can fetch the actor's key.
//
// stdout, one JSON line each:
//   {"ready": ORIGIN, "actor": ID, "keyId": ID}    once listening
//   {"started": T}        on "go" (a stdin line), just before ctx.sendActivity(…, "followers",
//                         Create(Note), {preferSharedInbox: true}); T in seconds of CLOCK_MONOTONIC
//                         (process.hrtime: the same clock as Python's time.monotonic() on Linux)
//   {"enqueued": T}       when sendActivity returned (the fan-out is queued)
//   {"drained": T}        when the queue is empty, nothing delayed (every delivery done or given up)
//   {"error": TEXT}       a delivery error Fedify reports (onOutboxError), first 20 only
// It runs until stdin closes.

import { serveFederation } from "./serve-federation.mjs";
import { createInterface } from "node:readline";
import {
  createFederation, generateCryptoKeyPair, InProcessMessageQueue, MemoryKvStore, ParallelMessageQueue,
} from "@fedify/fedify";
import { Create, Endpoints, Note, Person, PUBLIC_COLLECTION } from "@fedify/fedify/vocab";
import { readFileSync } from "node:fs";

const task = JSON.parse(readFileSync(process.argv[2], "utf8"));
const say = (doc) => process.stdout.write(JSON.stringify(doc) + "\n");
const now = () => Number(process.hrtime.bigint()) / 1e9;

const followers = task.followers.map(([id, inbox, shared]) => ({
  id: new URL(id),
  inboxId: new URL(inbox),
  endpoints: shared == null ? null : { sharedInbox: new URL(shared) },
}));

// Fedify's queue, and a watch on it: how many messages its workers are handling right now
// (Fedify's queues say how many wait, not how many run).
class Watched {
  constructor(inner) {
    this.inner = inner;
    this.active = 0;
    this.nativeRetrial = inner.nativeRetrial;
  }
  enqueue(message, options) { return this.inner.enqueue(message, options); }
  enqueueMany(messages, options) { return this.inner.enqueueMany(messages, options); }
  getDepth() { return this.inner.getDepth(); }
  listen(handler, options) {
    return this.inner.listen(async (message) => {
      this.active++;
      try {
        return await handler(message);
      } finally {
        this.active--;
      }
    }, options);
  }
}
const inner = new InProcessMessageQueue();
const queue = new Watched(task.parallel > 0 ? new ParallelMessageQueue(inner, task.parallel) : inner);
let errors = 0;
const federation = createFederation({
  kv: new MemoryKvStore(), queue, allowPrivateAddress: true,
  onOutboxError: (error) => {
    if (errors++ < 20) say({ error: String(error).split("\n")[0] });
  },
});
const keys = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "blog") return null;
    const [pair] = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Blog",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      publicKey: pair.cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "blog" ? [keys] : []));
federation.setInboxListeners("/users/{identifier}/inbox", "/inbox");
// One-shot (no cursor): what Fedify's docs recommend for sending to "followers".
federation.setFollowersDispatcher("/users/{identifier}/followers",
  async (_ctx, identifier, _cursor) => (identifier === "blog" ? { items: followers } : null));

const origin = await serveFederation(federation);
const ctx = federation.createContext(new URL(origin), undefined);
const actor = ctx.getActorUri("blog");
say({ ready: origin, actor: actor.href, keyId: (await ctx.getActorKeyPairs("blog"))[0].keyId.href });

async function go() {
  const note = new Note({
    id: new URL(`${origin}/notes/1`),
    attribution: actor,
    content: "<p>Hello, fediverse: one post to every follower.</p>",
    to: PUBLIC_COLLECTION,
    cc: ctx.getFollowersUri("blog"),
  });
  const create = new Create({
    id: new URL(`${origin}/notes/1/activity`),
    actor,
    object: note,
    to: PUBLIC_COLLECTION,
    cc: ctx.getFollowersUri("blog"),
  });
  say({ started: now() });
  await ctx.sendActivity({ identifier: "blog" }, "followers", create, { preferSharedInbox: true });
  say({ enqueued: now() });
  // Fedify tells nothing when a fan-out is over: watch the queue until it is empty.
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const depth = await queue.getDepth();
    if (depth.queued === 0 && queue.active === 0) {
      say({ drained: now() });
      return;
    }
  }
}

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (line.trim() === "go") go().catch((error) => say({ error: String(error) }));
});
lines.on("close", () => { server.close(); process.exit(0); });
