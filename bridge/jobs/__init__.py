"""The durable job queue, in the bridge's own database: job kinds and their payloads
(kinds), adding jobs (store), claiming and running them (worker, sql), and the retry
policy (retry). Every flow's work after "accepted" is a job. May import: core, config,
signatures, blog, as2, models, db.
"""
