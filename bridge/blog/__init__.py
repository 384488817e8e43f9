"""Reading blogs: HTML and feeds → `Post` and `Profile` (bridge/blog/post.py).

Translators only (pure: no aiohttp, no tortoise, no network): microformats2 and legacy
mf1 classes through mf2py, metaformats, WordPress's REST JSON and oEmbed, RSS/Atom/JSON
Feed, and the merge of these sources field by field with each field's provenance.
The fetching is bridge/publish/reader.py's. May import: core, config, signatures.
"""
