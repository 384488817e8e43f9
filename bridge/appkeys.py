"""The typed keys of the aiohttp application's state, in a module of their own so
route modules can import them without importing the app factory."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from bridge.config import Config
from bridge.jobs.store import JobContext
from bridge.jobs.worker import Worker

CONFIG = web.AppKey("config", Config)
HTTP = web.AppKey("http", aiohttp.ClientSession)
WORKER = web.AppKey("worker", Worker)
CONTEXT = web.AppKey("context", JobContext)  # the app's state: its caches and host health (jobs and inbox)
