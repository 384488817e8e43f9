"""The dashboard at /admin and /metrics: the web plumbing (web), login and sessions
(auth), the pages and actions (pages, interactions), what they read (data), and the
Prometheus endpoint (metrics)."""
