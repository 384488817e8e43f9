// An independent ActivityPub client looks the bridge's account up, as a fediverse server would.
//
// Usage: node fedify-lookup.mjs '{"handle": "acct:blog@127.0.0.1:PORT", "post": URL, "lookup": URL,
//                                 "nodeinfo": ORIGIN}'
// Fedify (@fedify/fedify) resolves the handle through WebFinger, fetches the actor and
// parses it with its vocabulary classes (Person.fromJsonLd, which checks types and
// shapes), then a post by its id and by the blog's <link rel="alternate"> URL, then
// NodeInfo (its strict parser). It prints what it understood as one JSON document.
// Everything runs on 127.0.0.1, hence allowPrivateAddress; TLS is real (the test makes a
// certificate and passes it in NODE_EXTRA_CA_CERTS), because acct: handles resolve over https.

import { getDocumentLoader, parseNodeInfo } from "@fedify/fedify";
import { Article, Hashtag, Image, Link, Mention, Note, Person, PropertyValue, lookupObject } from "@fedify/fedify/vocab";

const task = JSON.parse(process.argv[2]);
const documentLoader = getDocumentLoader({ allowPrivateAddress: true });
const options = { documentLoader, allowPrivateAddress: true, crossOrigin: "throw" };
const str = (value) => (value == null ? null : value.toString());

async function attachmentsOf(object) {
  const out = [];
  for await (const item of object.getAttachments()) {
    if (item instanceof PropertyValue) {
      out.push({ kind: "PropertyValue", name: str(item.name), value: str(item.value) });
    } else if (item instanceof Link) { // FEP-8967: an attached link, with the publisher's preview
      let preview = null;
      for await (const found of item.getPreviews({ documentLoader })) { preview ??= found; }
      out.push({ kind: "Link", href: str(item.href), mediaType: item.mediaType, name: str(item.name),
                 preview: preview == null ? null : { kind: preview.constructor.name, name: str(preview.name),
                                                     summary: str(preview.summary) } });
    } else {
      out.push({ kind: item.constructor.name, url: str(item.url?.href ?? item.url), mediaType: item.mediaType,
                 name: str(item.name) });
    }
  }
  return out;
}

async function tagsOf(object) {
  const out = [];
  for await (const tag of object.getTags()) {
    out.push({ kind: tag instanceof Hashtag ? "Hashtag" : tag instanceof Mention ? "Mention" : tag.constructor.name,
               name: str(tag.name), href: str(tag.href) });
  }
  return out;
}

async function describePreview(post) { // FEP-b2b8: an Article's short rendering
  const preview = await post.getPreview({ documentLoader });
  if (preview == null) return null;
  return { kind: preview.constructor.name, content: str(preview.content), summary: str(preview.summary),
           sensitive: preview.sensitive, attachments: await attachmentsOf(preview) };
}

async function describePost(post) {
  if (post == null) return null;
  return {
    kind: post instanceof Article ? "Article" : post instanceof Note ? "Note" : post.constructor.name,
    id: str(post.id),
    url: str(post.url?.href ?? post.url),
    name: str(post.name),
    summary: str(post.summary),
    content: str(post.content),
    languages: post.contents.map((c) => c.locale?.baseName ?? null),
    attributedTo: str(post.attributionId),
    published: str(post.published),
    to: post.toIds.map(str),
    cc: post.ccIds.map(str),
    attachments: await attachmentsOf(post),
    tags: await tagsOf(post),
    sensitive: post.sensitive,
    quotePolicy: post.interactionPolicy?.canQuote?.automaticApprovals.map(str) ?? null,
    preview: await describePreview(post),
  };
}

const out = {};
const actor = await lookupObject(task.handle, options);
if (!(actor instanceof Person)) {
  throw new Error(`the handle did not resolve to a Person: ${actor?.constructor?.name}`);
}
const key = await actor.getPublicKey({ documentLoader });
const icon = await actor.getIcon({ documentLoader });
out.actor = {
  id: str(actor.id),
  preferredUsername: str(actor.preferredUsername),
  name: str(actor.name),
  summary: str(actor.summary),
  url: str(actor.url?.href ?? actor.url),
  inbox: str(actor.inboxId),
  outbox: str(actor.outboxId),
  followers: str(actor.followersId),
  following: str(actor.followingId),
  featured: str(actor.featuredId),
  sharedInbox: str(actor.endpoints?.sharedInbox),
  manuallyApprovesFollowers: actor.manuallyApprovesFollowers,
  discoverable: actor.discoverable,
  published: str(actor.published),
  icon: icon instanceof Image ? { url: str(icon.url?.href ?? icon.url), mediaType: icon.mediaType } : null,
  publicKey: key == null ? null : {
    id: str(key.id),
    owner: str(key.ownerId),
    algorithm: key.publicKey?.algorithm?.name ?? null,
  },
  attachments: await attachmentsOf(actor),
};
out.post = await describePost(await lookupObject(task.post, options));
out.lookup = await describePost(await lookupObject(task.lookup, options));
// Fedify's getNodeInfo refuses private addresses outright: the same two steps by hand,
// then its strict parser (null when the document breaks the 2.0/2.1 schema).
const links = await (await fetch(new URL("/.well-known/nodeinfo", task.nodeinfo))).json();
const link = links.links.find((l) => l.rel === "http://nodeinfo.diaspora.software/ns/schema/2.1");
const info = parseNodeInfo(await (await fetch(link.href)).json());
out.nodeinfo = info == null ? null : {
  software: { name: info.software.name, version: str(info.software.version) },
  protocols: info.protocols,
  openRegistrations: info.openRegistrations,
  usage: info.usage,
};
console.log(JSON.stringify(out));
