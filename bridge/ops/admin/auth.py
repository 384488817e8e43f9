"""Who may use the dashboard: login with the admin token, signed session cookies, CSRF
tokens, the login rate limit, logout.

A session is a cookie `sid.expires.signature`, signed with HMAC-SHA256 under a key
derived from the admin token and a per-install secret (the instance actor's private
key, which only this install's database holds): any bridge process on the same
database accepts it, without a session table, and changing the admin token or rotating
the instance key ends every session. Logging out records the session id as revoked in
the database (a `RevokedSession` row, kept until the session would have expired anyway),
so a stolen copy of the cookie stops working on every process at once. The CSRF token of a session is an HMAC of its id:
nothing to store, different for each session, checked on every POST.

The login limit counts failed attempts per client address in the database
(`LoginFailure` rows), so it holds across every bridge process. Behind a reverse proxy on
loopback, the client address is the last hop of `X-Forwarded-For`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bridge.core.clock import Clock, utcnow
from bridge.keys import INSTANCE_ACTOR, active_key
from bridge.models import LoginFailure, RevokedSession

COOKIE = "bridge_admin"
ADDRESS_MAX = 64  # WARNING: LoginFailure.address's max_length


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
    # Bytes, not str: compare_digest raises TypeError on a str with non-ASCII characters.
    if not (expires.isascii() and expires.isdigit()) or \
            not hmac.compare_digest(mac.encode(), _mac(key, f"{sid}.{expires}").encode()):
        return None
    if int(expires) <= (now if now is not None else time.time()):
        return None
    return Session(sid, int(expires), csrf_token(key, sid))


def check_csrf(session: Session, submitted: str | None) -> bool:
    # Bytes, not str: compare_digest raises TypeError on a str with non-ASCII characters.
    return bool(submitted) and hmac.compare_digest(session.csrf.encode(), (submitted or "").encode())


def token_matches(configured: str, offered: str) -> bool:
    """Constant-time comparison of the admin token (hashed first: lengths do not leak)."""
    if not configured:
        return False
    return hmac.compare_digest(hashlib.sha256(configured.encode()).digest(), hashlib.sha256(offered.encode()).digest())


async def revoke(session: Session) -> None:
    """Record the session as logged out, for every process (twice is a no-op)."""
    expires = datetime.fromtimestamp(session.expires, UTC)
    await RevokedSession.bulk_create([RevokedSession(sid=session.sid, expires_at=expires)], ignore_conflicts=True)


async def is_revoked(session: Session) -> bool:
    return await RevokedSession.filter(sid=session.sid).exists()


async def prune_revoked(now: datetime) -> int:
    """Forget revocations of sessions that have expired anyway (their cookies are refused)."""
    return await RevokedSession.filter(expires_at__lte=now).delete()


def client_address(request: web.Request) -> str:
    """The client's address; behind a proxy on loopback, the proxy's last X-Forwarded-For hop."""
    remote = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For")
    if forwarded and remote in ("127.0.0.1", "::1"):
        return forwarded.split(",")[-1].strip() or remote
    return remote


@dataclass(frozen=True)
class LoginLimiter:
    """Failed logins per client address in a sliding window, counted in the database.

    Two processes checking at the same instant may each let one more guess through before
    the count catches up; the limit is still shared, not multiplied by the process count."""

    attempts: int
    window_seconds: float
    clock: Clock = utcnow

    async def retry_after(self, address: str) -> float:
        """0 when this address may try; else the seconds until it may."""
        now = self.clock()
        since = now - timedelta(seconds=self.window_seconds)
        recent = LoginFailure.filter(address=address[:ADDRESS_MAX], failed_at__gt=since)
        if await recent.count() < self.attempts:
            return 0.0
        # A slot frees when the `attempts`-th newest failure leaves the window.
        edge = await recent.order_by("-failed_at").offset(self.attempts - 1).first()
        if edge is None:  # deleted meanwhile by another process's prune
            return 0.0
        return max(1.0, self.window_seconds - (now - edge.failed_at).total_seconds())

    async def failed(self, address: str) -> None:
        """Count a failure, and forget failures that no window counts any more (all addresses)."""
        now = self.clock()
        await LoginFailure.create(address=address[:ADDRESS_MAX], failed_at=now)
        await LoginFailure.filter(failed_at__lte=now - timedelta(seconds=self.window_seconds)).delete()
