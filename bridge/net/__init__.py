"""The network edge: the one guarded outbound client (guard: no private addresses),
GETs with caps and timeouts (fetch), signed requests with double-knocking (signed),
remote actors and keys fetched, checked and cached (remote). May import everything below
the flows (core … jobs, keys).
"""
