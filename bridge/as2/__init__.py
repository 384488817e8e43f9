"""ActivityStreams 2: our posts and actors to AS2, and strangers' AS2 to what we keep.

Translators only (pure): `Post` → Note/Article and their activities (posts), a blog →
its actor (actor), a remote actor or key document → `ActorInfo`/`ResolvedKey`
(remote_actor), a reply, like or boost → `Interaction` (interaction); the vocabulary
(vocab) and references (ids). Raw AS2 dicts stay in this package. May import: core,
config, signatures, blog.
"""
