// An independent ActivityPub server comments on the bridge's posts and reports what it receives.
//
// Usage: node fedify-commenter.mjs '{"blog": ACTOR_ID}'
// A Fedify (@fedify/fedify) federation with two actors on 127.0.0.1 (a port of its own):
// "alice" (with a shared inbox) and "bob" (a personal inbox only, so what is delivered
// to him as an author is told apart from what reaches the followers' shared inbox).
// Their notes are served at their ids, so the bridge can fetch them.
// It reads one JSON command per line on stdin and sends it with Fedify's signer:
//   {"do": "follow", "as": "alice"}
//   {"do": "reply", "as": "bob", "note": "n1", "inReplyTo": URL, "content": HTML, "visibility": "public"|"unlisted"|"followers"|"direct"}
//   {"do": "update", "as": "bob", "note": "n1", "content": HTML}
//   {"do": "publish", "as": "bob", "note": "p1", "content": HTML}  (served at its id, sent to nobody)
//   {"do": "delete", "as": "bob", "note": "n1"}
//   {"do": "like" | "announce", "as": "alice", "id": "l1", "object": URL}
//   {"do": "undo", "as": "alice", "id": "l1"}
// and prints {"sent": kind, "id": activity id, "object": object id} once sent. Every activity
// its inboxes accept (Fedify verifies the HTTP signature first) is printed as
// {"received": kind, "recipient": identifier or null (shared inbox), "activity": JSON-LD}.
// The first line is {"ready": ORIGIN}. It runs until stdin closes.

import { serveFederation } from "./serve-federation.mjs";
import readline from "node:readline";
import { Temporal } from "@js-temporal/polyfill";
import { createFederation, generateCryptoKeyPair, MemoryKvStore } from "@fedify/fedify";
import {
  Accept, Announce, Create, Delete, Endpoints, Follow, Image, Like, Mention, Note, Person, PUBLIC_COLLECTION,
  Tombstone, Undo, Update,
} from "@fedify/fedify/vocab";

const task = JSON.parse(process.argv[2]);
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
const keys = { alice: await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"), bob: await generateCryptoKeyPair("RSASSA-PKCS1-v1_5") };
const names = { alice: "Alice Liddell", bob: "Bob Example" };
const say = (doc) => process.stdout.write(JSON.stringify(doc) + "\n");
const notes = new Map(); // "bob/n1" -> Note
const sent = new Map(); // activity local id -> activity (for Undo)
let origin = "";

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (!(identifier in keys)) return null;
    const [pair] = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: names[identifier],
      url: new URL(`${origin}/@${identifier}`),
      icon: new Image({ url: new URL(`${origin}/avatars/${identifier}.png`), mediaType: "image/png" }),
      inbox: ctx.getInboxUri(identifier),
      followers: new URL(`${ctx.getActorUri(identifier).href}/followers`),
      endpoints: identifier === "alice" ? new Endpoints({ sharedInbox: ctx.getInboxUri() }) : null,
      publicKey: pair.cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier in keys ? [keys[identifier]] : []));

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (_ctx, values) =>
  notes.get(`${values.identifier}/${values.id}`) ?? null);

const report = (kind) => async (ctx, activity) => {
  const json = await activity.toJsonLd({ format: "compact" });
  say({ received: kind, recipient: ctx.recipient ?? null, id: activity.id?.href, actor: activity.actorId?.href, activity: json });
};
federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, report("Accept"))
  .on(Create, report("Create"))
  .on(Update, report("Update"))
  .on(Delete, report("Delete"))
  .onError((_ctx, error) => say({ error: String(error) }));

origin = await serveFederation(federation);
const ctx = federation.createContext(new URL(origin), undefined);
const blog = await ctx.lookupObject(task.blog);
if (blog == null) throw new Error(`cannot resolve ${task.blog}`);
say({ ready: origin, blog: blog.id.href });

function addressing(who, visibility) {
  const followers = new URL(`${ctx.getActorUri(who).href}/followers`);
  switch (visibility ?? "public") {
    case "public": return { to: PUBLIC_COLLECTION, ccs: [followers, blog.id] };
    case "unlisted": return { to: followers, ccs: [PUBLIC_COLLECTION, blog.id] };
    case "followers": return { tos: [followers, blog.id] };
    default: return { to: blog.id };
  }
}

function note(cmd, previous) {
  const me = ctx.getActorUri(cmd.as);
  const id = new URL(`${me.href}/notes/${cmd.note}`);
  const published = previous?.published ?? Temporal.Now.instant();
  return new Note({
    id, attribution: me, content: cmd.content, url: new URL(`${origin}/@${cmd.as}/${cmd.note}`),
    replyTarget: previous?.replyTargetId ?? (cmd.inReplyTo ? new URL(cmd.inReplyTo) : null), published,
    updated: previous ? Temporal.Now.instant() : null,
    tags: [new Mention({ href: blog.id, name: "@blog" })],
    ...addressing(cmd.as, cmd.visibility ?? previous?.visibility),
  });
}

async function run(cmd) {
  const me = ctx.getActorUri(cmd.as);
  const key = `${cmd.as}/${cmd.note}`;
  let activity;
  if (cmd.do === "follow") {
    activity = new Follow({ id: new URL(`${origin}/follows/${cmd.as}`), actor: me, object: blog.id });
  } else if (cmd.do === "reply") {
    const obj = note(cmd, null);
    notes.set(key, obj);
    activity = new Create({ id: new URL(`${obj.id.href}/create`), actor: me, object: obj, ...addressing(cmd.as, cmd.visibility) });
  } else if (cmd.do === "publish") { // a post of its own, only served (not sent anywhere)
    const obj = note(cmd, null);
    notes.set(key, obj);
    say({ sent: cmd.do, id: obj.id.href, object: obj.id.href });
    return;
  } else if (cmd.do === "update") {
    const before = notes.get(key);
    const obj = note({ ...cmd, inReplyTo: before.replyTargetId.href }, before);
    notes.set(key, obj);
    activity = new Update({ id: new URL(`${obj.id.href}/update/${Date.now()}`), actor: me, object: obj, ...addressing(cmd.as, "public") });
  } else if (cmd.do === "delete") {
    const id = notes.get(key).id;
    notes.delete(key);
    activity = new Delete({ id: new URL(`${id.href}/delete`), actor: me, object: new Tombstone({ id }), ...addressing(cmd.as, "public") });
  } else if (cmd.do === "like") {
    activity = new Like({ id: new URL(`${me.href}/likes/${cmd.id}`), actor: me, object: new URL(cmd.object) });
  } else if (cmd.do === "announce") {
    activity = new Announce({ id: new URL(`${me.href}/announces/${cmd.id}`), actor: me, object: new URL(cmd.object),
      to: PUBLIC_COLLECTION, ccs: [new URL(`${me.href}/followers`), blog.id] });
  } else if (cmd.do === "undo") {
    const inner = sent.get(cmd.id);
    activity = new Undo({ id: new URL(`${inner.id.href}/undo`), actor: me, object: inner });
  } else {
    throw new Error(`unknown command ${cmd.do}`);
  }
  if (cmd.id) sent.set(cmd.id, activity);
  await ctx.sendActivity({ identifier: cmd.as }, blog, activity, { immediate: true });
  say({ sent: cmd.do, id: activity.id.href, object: activity.objectId?.href ?? null });
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  run(JSON.parse(line)).catch((error) => say({ error: String(error?.stack ?? error) }));
});
lines.on("close", () => { server.close(); process.exit(0); });
