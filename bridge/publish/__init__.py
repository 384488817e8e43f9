"""Flow 1, blog → fediverse: read a blog (reader), notice new, changed and gone posts
(polling), turn a stored post into its AS2 documents (documents, reply_targets), fan an
activity out to every inbox (fanout) and deliver each one signed, with retries (delivery).
May import: core … net.
"""
