"""Who may use the dashboard: login with the admin token, signed session cookies, CSRF
tokens, the login rate limit, logout.

A session is a cookie `sid.expires.signature`, signed with HMAC-SHA256 under a key
derived from the admin token and a per-install secret (the instance actor's private
key, which only this install's database holds): any bridge process on the same
database accepts it, without a session table, and changing the admin token or rotating
the instance key ends every session. Logging out records the session id as revoked in
the database (a finished `admin.logout` job row whose dedupe key is the session id, kept
until the session would have expired anyway), so a stolen copy of the cookie stops
working on every process at once. The CSRF token of a session is an HMAC of its id:
nothing to store, different for each session, checked on every POST.

The login limit counts failed attempts per client address in this process (a second
process doubles the allowance at most). Behind a reverse proxy on loopback, the client
address is the last hop of `X-Forwarded-For`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiohttp import web

from .keys import INSTANCE_ACTOR, active_key
from .models import Job, JobState

COOKIE = "bridge_admin"
LOGOUT_JOB = "admin.logout"  # never enqueued to run: a revocation record (state done)


@dataclass(frozen=True, slots=True)
class Session:
    sid: str
    expires: int  # Unix seconds
    csrf: str


async def signing_key(admin_token: str) -> bytes:
    """The key sessions are signed with: the admin token mixed with this install's secret."""
    install_secret = (await active_key(INSTANCE_ACTOR)).private_pem.encode()
    return hmac.new(hashlib.sha256(install_secret).digest(), b"bridge-admin-session\0" + admin_token.encode(),
                    hashlib.sha256).digest()


def _mac(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def csrf_token(key: bytes, sid: str) -> str:
    return _mac(key, f"csrf:{sid}")


def new_session(key: bytes, hours: float, now: float | None = None) -> tuple[str, Session]:
    """A fresh session and its cookie value."""
    sid = secrets.token_urlsafe(18)
    expires = int((now if now is not None else time.time()) + hours * 3600)
    value = f"{sid}.{expires}"
    return f"{value}.{_mac(key, value)}", Session(sid, expires, csrf_token(key, sid))


def read_cookie(key: bytes, cookie: str | None, now: float | None = None) -> Session | None:
    """The session a cookie carries, if its signature holds and it has not expired
    (revocation is checked by `is_revoked`)."""
    if not cookie or cookie.count(".") != 2:
        return None
    sid, expires, mac = cookie.split(".")
    if not expires.isdigit() or not hmac.compare_digest(mac, _mac(key, f"{sid}.{expires}")):
        return None
    if int(expires) <= (now if now is not None else time.time()):
        return None
    return Session(sid, int(expires), csrf_token(key, sid))


def check_csrf(session: Session, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf, submitted or "")


def token_matches(configured: str, offered: str) -> bool:
    """Constant-time comparison of the admin token (hashed first: lengths do not leak)."""
    if not configured:
        return False
    return hmac.compare_digest(hashlib.sha256(configured.encode()).digest(), hashlib.sha256(offered.encode()).digest())


async def revoke(session: Session) -> None:
    """Record the session as logged out, for every process."""
    expires = datetime.fromtimestamp(session.expires, UTC)
    await Job.bulk_create([Job(kind=LOGOUT_JOB, payload={}, state=JobState.DONE, run_after=expires,
                               finished_at=expires, dedupe_key=f"{LOGOUT_JOB}:{session.sid}")],
                          ignore_conflicts=True)


async def is_revoked(session: Session) -> bool:
    return await Job.filter(dedupe_key=f"{LOGOUT_JOB}:{session.sid}").exists()


def client_address(request: web.Request) -> str:
    """The client's address; behind a proxy on loopback, the proxy's last X-Forwarded-For hop."""
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and remote in ("127.0.0.1", "::1"):
        return forwarded.split(",")[-1].strip() or remote
    return remote


@dataclass
class LoginLimiter:
    """Failed logins per client address in a sliding window."""

    attempts: int
    window_seconds: float
    failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self.failures.setdefault(address, deque())
        while times and now - times[0] >= self.window_seconds:
            times.popleft()
        return times

    def retry_after(self, address: str, now: float | None = None) -> float:
        """0 when this address may try; else the seconds until it may."""
        now = time.monotonic() if now is None else now
        times = self._recent(address, now)
        if len(times) < self.attempts:
            if not times:
                self.failures.pop(address, None)
            return 0.0
        return max(1.0, self.window_seconds - (now - times[0]))

    def failed(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._recent(address, now).append(now)
        if len(self.failures) > 10_000:  # a spray from many addresses: forget the oldest
            self.failures.pop(next(iter(self.failures)))
