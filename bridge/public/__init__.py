"""What the fediverse reads from us: WebFinger and host-meta, NodeInfo, actors,
collections and objects with content negotiation (routes). May import: core … net, publish.
"""
