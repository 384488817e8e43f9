"""The ground floor: what every subsystem uses and nothing of ours is imported by it.

The clock, logging, metrics, single-flight reads, text guards, the HTML sanitiser, block
patterns, URL helpers, and the router of our own URLs (`urls`: built and parsed here only).
Pure: no aiohttp, no tortoise. Imports nothing else of the bridge.
"""
