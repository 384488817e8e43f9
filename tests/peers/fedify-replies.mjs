// An independent ActivityPub client reads a post's thread, as Mastodon 4.5+ does to show it.
//
// Usage: node fedify-replies.mjs '{"post": URL}'
// Fedify (@fedify/fedify) looks the post up, takes its `replies` collection (embedded in
// the post), then:
// - walks the pages by hand from the embedded `first`, following `next`, and lists each
//   page's item ids without fetching them (what Mastodon's FetchAllRepliesService reads);
// - fetches the collection at its own id and runs Fedify's `traverseCollection` over it,
//   which dereferences every item given by id (the fediverse's replies, our answers on the
//   first page) and parses the ones embedded whole (our answers on a fetched page).
// It prints what it understood as one JSON document. Everything runs on 127.0.0.1, hence
// allowPrivateAddress; crossOrigin "throw": an embedded object on another origin fails.

import { getDocumentLoader } from "@fedify/fedify";
import { Article, Collection, CollectionPage, Note, lookupObject, traverseCollection } from "@fedify/fedify/vocab";

const task = JSON.parse(process.argv[2]);
const documentLoader = getDocumentLoader({ allowPrivateAddress: true });
const options = { documentLoader, contextLoader: documentLoader, allowPrivateAddress: true, crossOrigin: "throw" };
const str = (value) => (value == null ? null : value.toString());
const kind = (object) =>
  object instanceof Article ? "Article" : object instanceof Note ? "Note" : object instanceof CollectionPage
    ? "CollectionPage" : object instanceof Collection ? "Collection" : object?.constructor?.name ?? null;

const out = {};
const post = await lookupObject(task.post, options);
if (post == null) throw new Error(`no object at ${task.post}`);
const replies = await post.getReplies(options);
out.post = { id: str(post.id), kind: kind(post), replies: str(post.repliesId) };
out.collection = { id: str(replies?.id), kind: kind(replies), first: str(replies?.firstId) };

out.pages = [];
for (let page = await replies.getFirst(options); page != null; page = await page.getNext(options)) {
  out.pages.push({ id: str(page.id), kind: kind(page), partOf: str(page.partOfId), next: str(page.nextId),
                   items: page.itemIds.map(str) });
  if (out.pages.length > 50) throw new Error("more than 50 pages: does `next` loop?");
}

const fetched = await lookupObject(replies.id, options);
if (!(fetched instanceof Collection)) throw new Error(`the replies id is not a Collection: ${kind(fetched)}`);
out.traversed = [];
for await (const item of traverseCollection(fetched, options)) {
  out.traversed.push({ id: str(item.id), kind: kind(item), inReplyTo: str(item.replyTargetId) });
}
console.log(JSON.stringify(out));
