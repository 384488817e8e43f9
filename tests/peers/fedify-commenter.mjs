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
//   {"do": "react", "as": "alice", "id": "r1", "object": URL, "emoji": "🎉"}          (an EmojiReact)
//   {"do": "quote", "as": "bob", "note": "q1", "quote": URL, "content": HTML}      (a QuoteRequest, FEP-044f:
//       the quoting note, served at its id, as instrument)
//   {"do": "relay", "as": "club", "by": "bob", "note": "g1", "inReplyTo": URL, "content": HTML}
//       (the group "club" announces bob's Create of a note, FEP-1b12; the note is served at its id)
//   {"do": "move", "as": "bob", "to": "bobby"}   (bob moves to bobby, whose alsoKnownAs names bob)
//   {"do": "fetch", "url": URL}   (Fedify's lookupObject: prints {"fetched": URL, "kind", "doc"} or kind null)
// and prints {"sent": kind, "id": activity id, "object": object id} once sent. Every activity
// its inboxes accept (Fedify verifies the HTTP signature first) is printed as
// {"received": kind, "recipient": identifier or null (shared inbox), "activity": JSON-LD}.
// Every activity received also says whether its FEP-8b32 proof verified ("proof": true/false,
// null without one). The first line is {"ready": ORIGIN}. It runs until stdin closes.

import { serveFederation } from "./serve-federation.mjs";
import readline from "node:readline";
import { Temporal } from "@js-temporal/polyfill";
import { createFederation, generateCryptoKeyPair, getDocumentLoader, MemoryKvStore, verifyObject } from "@fedify/fedify";
import {
  Accept, Activity, Announce, Create, Delete, EmojiReact, Endpoints, Follow, Group, Image, Like, Mention, Move, Note, Person,
  PUBLIC_COLLECTION, QuoteRequest, Reject, Tombstone, Undo, Update, lookupObject,
} from "@fedify/fedify/vocab";

const task = JSON.parse(process.argv[2]);
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
const keys = {};
for (const who of ["alice", "bob", "bobby", "club"]) keys[who] = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
const names = { alice: "Alice Liddell", bob: "Bob Example", bobby: "Bob Example (new)", club: "The Blog Club" };
const aliases = {}; // identifier -> identifier it moved from (alsoKnownAs)
const movedTo = {}; // identifier -> identifier it moved to
const say = (doc) => process.stdout.write(JSON.stringify(doc) + "\n");
const notes = new Map(); // "bob/n1" -> Note
const sent = new Map(); // activity local id -> activity (for Undo)
let origin = "";

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (!(identifier in keys)) return null;
    const [pair] = await ctx.getActorKeyPairs(identifier);
    const Kind = identifier === "club" ? Group : Person;
    return new Kind({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: names[identifier],
      url: new URL(`${origin}/@${identifier}`),
      icon: new Image({ url: new URL(`${origin}/avatars/${identifier}.png`), mediaType: "image/png" }),
      inbox: ctx.getInboxUri(identifier),
      followers: new URL(`${ctx.getActorUri(identifier).href}/followers`),
      endpoints: identifier === "alice" ? new Endpoints({ sharedInbox: ctx.getInboxUri() }) : null,
      publicKey: pair.cryptographicKey,
      aliases: aliases[identifier] ? [ctx.getActorUri(aliases[identifier])] : [],
      successor: movedTo[identifier] ? ctx.getActorUri(movedTo[identifier]) : null,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier in keys ? [keys[identifier]] : []));

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (_ctx, values) =>
  notes.get(`${values.identifier}/${values.id}`) ?? null);

// FEP-8b32: each body as it arrived, its proofs checked by Fedify's verifyObject (true, false,
// or null when it carries none), remembered by activity id for the report below.
const proofs = new Map();
const checkProof = async (text) => {
  let doc;
  try { doc = JSON.parse(text); } catch { return; }
  if (typeof doc?.id !== "string") return;
  if (doc.proof == null) { proofs.set(doc.id, null); return; }
  const loader = getDocumentLoader({ allowPrivateAddress: true });
  try {
    proofs.set(doc.id, (await verifyObject(Activity, doc, { documentLoader: loader, contextLoader: loader })) != null);
  } catch (error) {
    proofs.set(doc.id, `threw: ${error}`);
  }
};
const report = (kind) => async (ctx, activity) => {
  const json = await activity.toJsonLd({ format: "compact" });
  say({ received: kind, recipient: ctx.recipient ?? null, id: activity.id?.href, actor: activity.actorId?.href,
        proof: proofs.get(activity.id?.href) ?? null, activity: json });
};
federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, report("Accept"))
  .on(Create, report("Create"))
  .on(Update, report("Update"))
  .on(Delete, report("Delete"))
  .on(Reject, report("Reject"))
  .onError((_ctx, error) => say({ error: String(error) }));

origin = await serveFederation(federation, { onBody: checkProof });
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
  } else if (cmd.do === "react") {
    activity = new EmojiReact({ id: new URL(`${me.href}/reactions/${cmd.id}`), actor: me, object: new URL(cmd.object),
      content: cmd.emoji, to: PUBLIC_COLLECTION, ccs: [blog.id] });
  } else if (cmd.do === "quote") {
    const id = new URL(`${me.href}/notes/${cmd.note}`);
    const obj = new Note({ id, attribution: me, content: cmd.content, quote: new URL(cmd.quote),
      published: Temporal.Now.instant(), ...addressing(cmd.as, "public") });
    notes.set(key, obj);
    activity = new QuoteRequest({ id: new URL(`${id.href}/quote_request`), actor: me, object: new URL(cmd.quote),
      instrument: obj });
  } else if (cmd.do === "relay") { // FEP-1b12: the group announces a member's Create
    const author = ctx.getActorUri(cmd.by);
    const obj = note({ ...cmd, as: cmd.by }, null);
    notes.set(`${cmd.by}/${cmd.note}`, obj);
    const create = new Create({ id: new URL(`${obj.id.href}/create`), actor: author, object: obj,
      ...addressing(cmd.by, "public") });
    activity = new Announce({ id: new URL(`${me.href}/announces/${cmd.note}`), actor: me, object: create,
      to: PUBLIC_COLLECTION, ccs: [new URL(`${me.href}/followers`), blog.id] });
  } else if (cmd.do === "move") { // FEP-7628: the new account names the old one first
    aliases[cmd.to] = cmd.as;
    movedTo[cmd.as] = cmd.to;
    activity = new Move({ id: new URL(`${me.href}#moves/${cmd.to}`), actor: me, object: me,
      target: ctx.getActorUri(cmd.to), to: PUBLIC_COLLECTION, ccs: [blog.id] });
  } else if (cmd.do === "fetch") {
    // A fresh, uncached loader: a second fetch of the same URL must ask the server again.
    const found = await lookupObject(cmd.url, { documentLoader: getDocumentLoader({ allowPrivateAddress: true }) });
    say({ fetched: cmd.url, kind: found?.constructor?.name ?? null,
          doc: found == null ? null : await found.toJsonLd({ format: "compact" }) });
    say({ sent: cmd.do, id: cmd.url, object: null });
    return;
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
