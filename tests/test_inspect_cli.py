"""`bridge inspect URL --json` on every published post of both WordPress themes,
field by field against truth.json: what the operator sees is what the bridge reads."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bridge import cli

from .blogserver import THEMES, BlogServer, paragraphs, published_posts, truth

AUTHOR = truth()["site"]["author"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """Each theme's posts through the real CLI, once, while that theme is served."""
    config = tmp_path_factory.mktemp("inspect") / "config.toml"
    config.write_text(
        '[server]\nbase_url = "https://bridge.example"\n[security]\nallow_private_addresses = true\n'
        '[[blogs]]\nname = "blog"\nurl = "http://127.0.0.1:8765/"\n'
    )

    async def run_theme(theme: str) -> dict[tuple[str, str], dict[str, Any]]:
        server = await BlogServer.wordpress(theme).start()
        try:
            found = {}
            for t in published_posts():
                found[(theme, t["key"])] = await asyncio.to_thread(_inspect, config, t["permalink"])
            return found
        finally:
            await server.stop()

    results: dict[tuple[str, str], dict[str, Any]] = {}
    for theme in THEMES:
        results.update(asyncio.run(run_theme(theme)))
    return results


def _inspect(config: Path, url: str) -> dict[str, Any]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.run(["inspect", "--json", "-c", str(config), url])
    assert code == 0
    return json.loads(out.getvalue())


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("t", published_posts(), ids=lambda t: t["key"])
def test_inspect_json_matches_truth(outputs: dict[tuple[str, str], dict[str, Any]], theme: str, t: dict[str, Any]) -> None:
    data = outputs[(theme, t["key"])]
    assert data["title"] == (t["title"] or None)
    assert data["published"] == t["published"]
    assert data["updated"] == t["updated"]
    assert data["url"] == t["permalink"]
    assert data["author"] == {"name": AUTHOR["display_name"], "url": AUTHOR["url"], "photo": AUTHOR["avatar_url"]}
    assert data["categories"] == t["categories"]
    assert data["tags"] == t["tags"]
    assert data["in_reply_to"] == ([t["in_reply_to"]] if t["in_reply_to"] else [])
    assert data["language"] == "en-US"
    image = t["image"]
    assert data["photos"] == ([{"url": image["large"], "alt": image["alt"]}] if image else [])
    assert (data["featured"] or {}).get("alt") == (image["alt"] if image else None)
    assert paragraphs(data["content_html"]) == t["content_paragraphs_text"]
    for name in ("title", "content_html", "published", "updated", "url", "author.name", "author.photo", "categories"):
        assert data["sources"][name] in ("mf1", "mf2", "wp-rest", "feed", "rel-canonical", "fetch-url"), name
    assert data["profile"]["name"] == AUTHOR["display_name"]
    # …and the ActivityPub object it becomes (post_style auto).
    as2 = data["as2"]
    assert as2["type"] == ("Article" if t["title"] and len(" ".join(t["content_paragraphs_text"])) > 500 else "Note")
    assert as2["url"] == t["permalink"] and as2["attributedTo"] == "https://bridge.example/users/blog"
    assert datetime.fromisoformat(as2["published"].replace("Z", "+00:00")) == datetime.fromisoformat(data["published"])
    media = [a for a in as2.get("attachment", []) if a["type"] != "Link"]  # the Link: the post's own preview card
    assert [a["name"] for a in media] == ([image["alt"]] if image else [])
