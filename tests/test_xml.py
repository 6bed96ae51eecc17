"""The one hardened XML parser: DTD declarations refused, malformed payloads named, shared by every source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from paperfeed.ingest.arxiv_api import AtomError, parse_arxiv_atom
from paperfeed.ingest.hf_daily import HfPayloadError
from paperfeed.ingest.oai_pmh import OaiError, parse_list_records
from paperfeed.ingest.records import SourceError
from paperfeed.ingest.rss import RssFeedError, parse_arxiv_rss
from paperfeed.ingest.xml import UnsafeXml, XmlError, parse_xml
from replay import ReplayServer, Reply

DATA = Path(__file__).parent / "data"

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<feed>&lol3;</feed>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed>&xxe;</feed>"""

# An internal subset without any ENTITY still declares things (here a default attribute): refused too.
ATTLIST = b'<?xml version="1.0"?><!DOCTYPE feed [<!ATTLIST feed x CDATA "injected">]><feed/>'


@pytest.mark.parametrize("payload", [BOMB, XXE, ATTLIST])
def test_parse_xml_refuses_dtds(payload: bytes) -> None:
    with pytest.raises(UnsafeXml, match=r"^src: cannot parse XML: DOCTYPE/ENTITY"):
        parse_xml(payload, source="src")


@pytest.mark.parametrize("payload", [b"", b"   ", b"<feed><entry></feed>", b"not xml at all"])
def test_parse_xml_malformed(payload: bytes) -> None:
    with pytest.raises(XmlError, match=r"^src: cannot parse XML: malformed XML") as info:
        parse_xml(payload, source="src")
    assert not isinstance(info.value, UnsafeXml)


@pytest.mark.parametrize(
    "declaration", ['<!DOCTYPE a [<!ENTITY b "c">]>', '<!DOCTYPE a [<!ATTLIST a x CDATA "1">]>']
)
def test_parse_xml_utf16_doctype_is_refused(declaration: str) -> None:
    # The byte scan cannot read UTF-16; the check after parsing still sees the internal subset.
    payload = f'<?xml version="1.0" encoding="UTF-16"?>{declaration}<a>x</a>'.encode("utf-16")
    with pytest.raises(UnsafeXml):
        parse_xml(payload, source="src")


def test_parse_xml_drops_comments_and_processing_instructions() -> None:
    root = parse_xml(b"<a>one<!-- hidden --><?pi hidden?> two</a>", source="src")
    assert "".join(root.itertext()) == "one two"


def test_external_dtd_is_tolerated_but_never_fetched(replay_server: ReplayServer) -> None:
    evil = replay_server.add("/evil.dtd", Reply(200, body=b'<!ENTITY t "INJECTED">'))
    payload = f'<?xml version="1.0"?><!DOCTYPE a SYSTEM "{replay_server.url}/evil.dtd"><a>&t;ok</a>'
    root = parse_xml(payload.encode(), source="src")
    assert "INJECTED" not in "".join(root.itertext())
    assert "ok" in "".join(root.itertext())
    assert evil.hits == 0 and replay_server.requests == []


# --- every XML source uses it ----------------------------------------------------------------------

PARSERS: list[tuple[str, Callable[[bytes, str], object], type[SourceError]]] = [
    ("arxiv_api", lambda p, s: parse_arxiv_atom(p, source=s), AtomError),
    ("oai", lambda p, s: parse_list_records(p, source=s), OaiError),
    ("rss", lambda p, s: parse_arxiv_rss(p, source=s), RssFeedError),
]


@pytest.mark.parametrize(("name", "parse", "error"), PARSERS)
@pytest.mark.parametrize("payload", [BOMB, XXE, ATTLIST])
def test_every_source_refuses_declarations(
    name: str, parse: Callable[[bytes, str], object], error: type[SourceError], payload: bytes
) -> None:
    with pytest.raises(error) as info:
        parse(payload, f"{name}-test")
    message = str(info.value)
    assert message.startswith(f"{name}-test: ")
    assert "DOCTYPE/ENTITY declarations are refused" in message
    assert "lol" not in message and "passwd" not in message


@pytest.mark.parametrize(("name", "parse", "error"), PARSERS)
def test_every_source_names_itself_on_malformed_xml(
    name: str, parse: Callable[[bytes, str], object], error: type[SourceError]
) -> None:
    cut = (DATA / "rss" / "arxiv_cs_ai_2025-08-20.xml").read_bytes()[:700]
    with pytest.raises(error, match=rf"^{name}-test: .*malformed XML") as info:
        parse(cut, f"{name}-test")
    assert info.value.source == f"{name}-test"


@pytest.mark.parametrize("error", [AtomError, OaiError, XmlError, UnsafeXml, HfPayloadError, RssFeedError])
def test_whole_payload_errors_share_one_base(error: type[SourceError]) -> None:
    exc = error("somewhere", "why")
    assert isinstance(exc, SourceError) and isinstance(exc, ValueError)
    assert str(exc).startswith("somewhere: ") and str(exc).endswith(": why")
    assert (exc.source, exc.reason) == ("somewhere", "why")
