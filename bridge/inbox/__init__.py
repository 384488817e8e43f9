"""Flow 2, fediverse → blog: the inboxes (routes) verify a request's signature and its
signer's right to send it (verify, keycache), store it durably (store) and answer 202;
the `inbox.process` job dispatches each activity to its one handler (dispatch): follows
(follows), replies, likes and boosts (interactions), after moderation (moderation).
May import: core … net, publish, public, webmention.
"""
