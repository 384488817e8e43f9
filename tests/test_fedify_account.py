"""An independent implementation finds the account: Fedify (tests/peers/fedify-lookup.mjs)
resolves `acct:blog@127.0.0.1:PORT` through WebFinger, fetches and parses the actor,
a post by its id and by the blog's alternate link, and NodeInfo, from the bridge's real
app listening on 127.0.0.1 over TLS (acct: handles resolve over https)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bridge import __version__
from bridge.app import make_app, new_http_session
from bridge.config import Config, load_config
from bridge.core import urls
from bridge.models import ActorKey, BlogPost
from bridge.publish.polling import poll_blog

from .blogserver import BlogServer
from .fedi import require_node_peers, run_node

BLOG = "http://127.0.0.1:8765/"
IMAGE_POST = "http://127.0.0.1:8765/2019/06/28/a-wall-of-certificates/"
SEED = "http://127.0.0.1:8765/2019/06/12/binge-learning-certificates/"


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A certificate for 127.0.0.1 that Node trusts through NODE_EXTRA_CA_CERTS."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


async def fedify(task: dict[str, str], cert: Path) -> dict[str, Any]:
    return await run_node("fedify-lookup.mjs", task, env={"NODE_EXTRA_CA_CERTS": str(cert)})


async def test_fedify_resolves_the_handle_and_reads_the_actor_and_a_post(
    tmp_path: Path, write_config: Callable[..., Path], free_port: int, database: Config
) -> None:
    require_node_peers()
    base = f"https://127.0.0.1:{free_port}"
    # The image post is filed under "Learning": marked sensitive (issue 20, part 4).
    config = load_config(write_config('sensitive_labels = ["LEARNING"]\n', base_url=base, blog_url=BLOG,
                                      name="fedify.toml"), env={})
    blog = await BlogServer.wordpress("twentytwentyone").start()
    try:
        async with new_http_session(config) as session:
            assert (await poll_blog(session, config.blogs[0])).error is None
    finally:
        await blog.stop()

    context, cert = self_signed(tmp_path)
    server = TestServer(make_app(config, workers=False), port=free_port)
    await server.start_server(ssl=context)
    try:
        actor = urls.actor_id(base, "blog")
        image = await BlogPost.get(url=IMAGE_POST)
        seen = await fedify({
            "handle": f"acct:blog@127.0.0.1:{free_port}",
            "post": urls.post_object_id(actor, image.id),
            "lookup": urls.post_lookup(actor, SEED),
            "nodeinfo": base,
        }, cert)
    finally:
        await server.close()

    person = seen["actor"]
    assert person["id"] == actor and person["preferredUsername"] == "blog"
    assert person["name"] == "Maya Okonkwo"
    assert person["inbox"] == f"{actor}/inbox" and person["sharedInbox"] == f"{base}/inbox"
    assert (person["outbox"], person["followers"], person["following"], person["featured"]) == (
        f"{actor}/outbox", f"{actor}/followers", f"{actor}/following", f"{actor}/featured")
    assert person["url"] == BLOG and person["manuallyApprovesFollowers"] is False and person["discoverable"] is True
    assert person["icon"] == {"url": "http://127.0.0.1:8765/wp-content/uploads/2019/05/maya-avatar.png",
                              "mediaType": "image/png"}
    assert person["publicKey"] == {"id": urls.key_id(actor), "owner": actor, "algorithm": "RSASSA-PKCS1-v1_5"}
    assert await ActorKey.exists(actor="blog", active=True, algorithm="rsa")
    assert person["attachments"][0]["kind"] == "PropertyValue" and person["attachments"][0]["name"] == "Blog"
    assert 'rel="me nofollow noopener noreferrer"' in person["attachments"][0]["value"]

    post = seen["post"]
    assert post["kind"] == "Note" and post["id"] == urls.post_object_id(actor, image.id)
    assert post["url"] == IMAGE_POST and post["attributedTo"] == actor
    assert "Printed them all out and pinned them up." in post["content"]
    assert post["sensitive"] is True and post["summary"] == "Learning"  # the label, as the blog spells it
    assert "en" in post["languages"]  # contentMap (next to the plain content)
    assert post["to"] == ["https://www.w3.org/ns/activitystreams#Public"] and post["cc"] == [f"{actor}/followers"]
    assert post["attachments"] == [{
        "kind": "Image", "url": "http://127.0.0.1:8765/wp-content/uploads/2019/06/certificate-wall.jpg",
        "mediaType": "image/jpeg", "name": "Five printed certificates pinned to a cork board"}, {
        # FEP-8967: the post itself as the link preview, with the publisher's own card.
        "kind": "Link", "href": IMAGE_POST, "mediaType": "text/html", "name": "A wall of certificates",
        "preview": {"kind": "Article", "name": "A wall of certificates",
                    "summary": "Printed them all out and pinned them up. Slightly embarrassing, very motivating. "
                               "Five courses, one cork board."}}]
    assert post["quotePolicy"] == ["https://www.w3.org/ns/activitystreams#Public"]  # Mastodon's default: anyone
    assert post["tags"] == [{"kind": "Hashtag", "name": "#Learning", "href": "http://127.0.0.1:8765/category/learning/"}]
    assert post["published"] == "2019-06-28T22:30:00Z"

    article = seen["lookup"]  # through the URL the blog's <link rel="alternate"> would give
    assert article["kind"] == "Article" and article["name"] == "Binge-learning certificates"
    assert article["url"] == SEED and article["summary"] and "<a" not in article["summary"]
    # FEP-b2b8: a short Note-like rendering for servers that show notes only; the article is
    # sensitive too (filed under Learning): its preview carries the warning.
    preview = article["preview"]
    assert preview["kind"] == "Note" and preview["summary"] == "Learning" and preview["sensitive"] is True
    assert "<strong>Binge-learning certificates</strong>" in preview["content"] and f'href="{SEED}"' in preview["content"]
    assert article["summary"] in preview["content"] and article["sensitive"] is True

    assert seen["nodeinfo"]["software"] == {"name": "blog-fediverse-bridge", "version": __version__}
    assert seen["nodeinfo"]["protocols"] == ["activitypub"] and seen["nodeinfo"]["openRegistrations"] is False
    assert seen["nodeinfo"]["usage"]["localPosts"] == 7
