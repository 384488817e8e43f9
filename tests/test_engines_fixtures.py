"""The static-site-engine fixtures are consistent (tests/fixtures/engines/README.md)."""

from datetime import datetime

import pytest

from tests.blogserver import _key
from tests.engines import ENGINES, SITES, engine_manifest, engine_routes, engine_truth

STR_OR_NONE = ("title", "updated", "image", "in_reply_to", "summary")


@pytest.mark.parametrize("site", SITES)
def test_fixture_site_is_consistent(site: str) -> None:
    manifest, truth, routes = engine_manifest(site), engine_truth(site), engine_routes(site)
    assert all((ENGINES / site / f["file"]).is_file() for f in manifest["files"])
    assert len(routes) == len(manifest["files"]) and all(r.status == 200 for r in routes.values())
    assert manifest["base"] == truth["base"] and manifest["engine"] == truth["engine"]
    assert 3 <= len(truth["posts"]) <= 5 and all(_key(f["url"]) in routes for f in truth["feeds"])
    for post in truth["posts"]:
        assert _key(post["url"]) in routes and post["file"] in {f["file"] for f in manifest["files"]}
        assert all(datetime.fromisoformat(d).utcoffset() is not None
                   for d in (post["published"], post["updated"]) if d is not None)
        assert all(post[k] is None or isinstance(post[k], str) for k in STR_OR_NONE)
        assert isinstance(post["author"]["name"], str) and post["content_paragraphs_text"]
        assert all(isinstance(v, str) for k in ("tags", "categories", "content_paragraphs_text")
                   for v in post[k])
