"""What a crawler reads from one HTTP response, as a browser would, within a budget.

Four steps every crawler of the course needs once it has a response:

* :func:`read_body` reads the body **as decoded** (after ``Content-Encoding``:
  aiohttp's ``resp.content`` hands out inflated bytes) and stops as soon as
  it passes ``max_bytes``. A 200 KB gzip body that inflates to 200 MB is
  stopped at ``max_bytes``: the ``Content-Length`` header counts compressed
  bytes, so it cannot be the guard.
* :func:`mime_type` is the response's MIME type: the ``Content-Type`` header,
  or, when there is none or it says "unknown" (:func:`declared_type` is None),
  what the first bytes look like (WHATWG MIME
  sniffing: ``<!DOCTYPE html``, ``<html``, ``<a``... say HTML).
* :func:`decode_html` turns the bytes into text in the WHATWG order: a byte
  order mark, then the header's ``charset``, then a ``<meta charset>`` found
  by a prescan of the first 1024 bytes, then UTF-8. Encoding labels are
  WHATWG's (``iso-8859-1`` *is* windows-1252, as in every browser), looked up
  with ``webencodings``.
* :func:`retry_after` reads the ``Retry-After`` of a 429 or 503 (seconds or an
  HTTP date): how long the server asks the crawler to wait before asking again.
* :func:`unsupported_coding` names a ``Content-Encoding`` or
  ``Transfer-Encoding`` that aiohttp does not undo (``gzip, gzip``,
  ``x-gzip``, ``Transfer-Encoding: gzip, chunked``): such a body would reach
  the parser still compressed, so the crawler skips it with that reason
  instead of "crawling" a page of zero links.

Discussion: a valid gzip body followed by junk bytes is shown by browsers
(they stop at the end of the gzip stream) but fails here as a malformed
response ("Can not decode content-encoding"), not retried. Decoding what is
valid would mean turning off aiohttp's streaming decompression and
re-implementing four codings (gzip, deflate, br, zstd) with the decoded-bytes
budget that stops decompression bombs; for a body the server itself
corrupted, a failure named for what it is costs less and hides nothing.

Discussion: none of this is the lesson of notebook 07 (the lesson is the
queue and the workers), but a crawler that meets pages nobody here wrote
needs each step, and each one is a bug when it is missing (issue 15).
"""

from __future__ import annotations

import codecs
import email.utils
import io
import re
import time
from typing import NamedTuple

import webencodings

__all__ = ["BodyTooBig", "read_body", "ContentType", "parse_content_type", "declared_type", "mime_type",
           "sniff", "detect_encoding", "decode_html", "retry_after", "HTML_TYPES", "PRESCAN_BYTES",
           "meta_tags", "unsupported_coding"]

#: MIME types a crawler parses as HTML.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

#: How far the ``<meta charset>`` prescan looks (WHATWG: 1024 bytes).
PRESCAN_BYTES = 1024


class BodyTooBig(Exception):
    """The decoded body passed ``max_bytes``; ``read`` bytes were read before stopping."""

    def __init__(self, max_bytes: int, read: int):
        super().__init__(f"body over {max_bytes} bytes (stopped after {read})")
        self.max_bytes, self.read = max_bytes, read


async def read_body(resp, max_bytes: int) -> bytes:
    """The body of an aiohttp response, decoded (inflated), of at most ``max_bytes``.

    Raises :class:`BodyTooBig` as soon as the bytes read pass ``max_bytes``
    (or at once, when an uncompressed body's ``Content-Length`` says so): at
    most ``max_bytes`` plus one chunk is ever held (plus the growth slack of
    one buffer, an eighth at most). aiohttp inflates a compressed body a
    bounded chunk at a time, so a decompression bomb is stopped after
    ``max_bytes``, not after it has filled the memory.

    Discussion: the chunks go into one ``BytesIO``, not a list joined at the
    end: a join holds the list and the joined copy at once (twice
    ``max_bytes``), while ``getvalue()`` hands over the buffer it already
    has as ``bytes``, without a copy.
    """
    length = resp.content_length
    if length is not None and length > max_bytes and not resp.headers.get("Content-Encoding"):
        raise BodyTooBig(max_bytes, 0)  # refused from the header alone, the body is never read
    body, size = io.BytesIO(), 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooBig(max_bytes, size)
        body.write(chunk)
    return body.getvalue()


class ContentType(NamedTuple):
    """A ``Content-Type`` header split: ``essence`` (``"text/html"``) and its ``charset`` label."""

    essence: str
    charset: str | None


def parse_content_type(value: str | None) -> ContentType | None:
    """``"text/html; charset=UTF-8"`` -> ``ContentType("text/html", "UTF-8")``;
    None when there is no header, or it is empty or not ``type/subtype``."""
    if not value:
        return None
    essence, _, params = value.partition(";")
    essence = essence.strip().lower()
    if essence.count("/") != 1 or not all(essence.split("/")):
        return None
    match = _PARAM_CHARSET.search(params)
    charset = next((g for g in match.groups() if g is not None), None) if match else None
    return ContentType(essence, charset.strip() if charset else None)


_PARAM_CHARSET = re.compile(r'(?:^|;)\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))', re.I)

# WHATWG MIME sniffing, "rules for identifying an unknown MIME type": after
# optional whitespace, one of these (case-insensitive), then a space or ">".
_HTML_START = re.compile(
    rb"[\t\n\x0c\r ]*<(?:!DOCTYPE HTML|HTML|HEAD|SCRIPT|IFRAME|H1|DIV|FONT|TABLE|A|STYLE|TITLE|B|BODY|BR|P|!--)"
    rb"[ >]", re.I)
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_UNKNOWN = frozenset({"unknown/unknown", "application/unknown", "*/*"})


def sniff(head: bytes) -> str:
    """The MIME type of a body that came without one, from its first bytes.

    ``"text/html"`` for a body that starts like HTML, ``"text/xml"`` for
    ``<?xml``, ``"application/pdf"``, ``"text/plain"`` for text (or a byte
    order mark) and ``"application/octet-stream"`` for binary data, as
    browsers do (a subset of the WHATWG MIME sniffing standard).
    """
    head = head[:1445]  # WHATWG: the resource header is at most 1445 bytes
    if _HTML_START.match(head):
        return "text/html"
    stripped = head.lstrip(b"\t\n\x0c\r ")
    if stripped.startswith(b"<?xml"):
        return "text/xml"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"\xfe\xff", b"\xff\xfe", b"\xef\xbb\xbf")):
        return "text/plain"
    return "application/octet-stream" if _BINARY.search(head) else "text/plain"


def declared_type(content_type: str | None) -> str | None:
    """The MIME type a ``Content-Type`` header names, or None when the body must
    be sniffed: no header, an unparseable one, or one that says "unknown"
    (``unknown/unknown``, ``application/unknown``, ``*/*``)."""
    parsed = parse_content_type(content_type)
    if parsed is None or parsed.essence in _UNKNOWN:
        return None
    return parsed.essence


def mime_type(content_type: str | None, head: bytes = b"") -> str:
    """The MIME type to act on: the header's essence, or :func:`sniff` of ``head``
    when :func:`declared_type` says the header does not tell (so a crawler that
    has not read the body yet asks :func:`declared_type` first)."""
    return declared_type(content_type) or sniff(head)


# -- charset: BOM, header, <meta> prescan, UTF-8 -------------------------------

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xfe\xff", "utf-16be"), (b"\xff\xfe", "utf-16le"))

# The prescan walks the first 1024 bytes: comments are skipped whole (an
# unterminated one ends the scan), other markup tags are skipped, and the
# attributes of each <meta> are read.
_PRESCAN = re.compile(rb"<!--.*?(?:-->|\Z)|<meta(?=[\t\n\x0c\r /])([^>]*)(?:>|\Z)|<[!/?A-Za-z][^>]*(?:>|\Z)",
                      re.S | re.I)
_ATTRIBUTE = re.compile(rb"""[\t\n\x0c\r /]*([^\t\n\x0c\r />=]+)(?:[\t\n\x0c\r ]*=[\t\n\x0c\r ]*"""
                        rb"""(?:"([^"]*)"|'([^']*)'|([^\t\n\x0c\r >]*)))?""")
_CONTENT_CHARSET = re.compile(rb"""charset[\t\n\x0c\r ]*=[\t\n\x0c\r ]*(?:"([^"]*)"|'([^']*)'|([^\t\n\x0c\r ;"']+))""",
                              re.I)


def _lookup(label: str | bytes | None) -> str | None:
    """The WHATWG name of an encoding label (``"latin1"`` -> ``"windows-1252"``), or None.

    A label WHATWG does not know but Python does (``"latin-1"``, ``"utf8"``
    with an underscore, ``"cp1252"``...) is accepted when Python's name for
    that codec is itself a WHATWG label: ``"latin-1"`` -> Python's
    ``iso8859-1`` -> ``windows-1252``.

    Discussion: a browser does not accept ``latin-1``; it ignores the label
    and falls back to its locale's default encoding, which for Western
    locales (Spanish and English among them) is windows-1252. Accepting the
    alias gives the same text those browsers show, where ignoring it would
    decode the page as UTF-8 and turn an ``ñ`` into U+FFFD (a link requested
    as ``%EF%BF%BD``). Only aliases of codecs WHATWG names are accepted: a
    Python-only codec (``rot13``, ``hex``, ``utf-7``) is no charset of the web.
    """
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "replace")
    if not label.isascii():  # every WHATWG label is ASCII (and a raw header byte, a lone surrogate, cannot be looked up)
        return None
    encoding = webencodings.lookup(label)
    if encoding is None:
        try:
            python_name = codecs.lookup(label.strip()).name
        except (LookupError, ValueError):  # ValueError: a label with a NUL
            return None
        encoding = webencodings.lookup(python_name)
    return encoding.name if encoding is not None else None


def meta_tags(head: bytes):
    """The attributes (lowercase name -> raw value) of each ``<meta>`` tag in
    ``head``, in order, as WHATWG's prescan reads them: comments are skipped
    whole, other tags skipped (a ``<meta`` inside a comment is not one)."""
    for match in _PRESCAN.finditer(head):
        if match.group(1) is None:
            continue  # a comment or another tag
        attrs: dict[bytes, bytes] = {}
        for name, *values in _ATTRIBUTE.findall(match.group(1)):
            attrs.setdefault(name.lower(), next((v for v in values if v), b""))
        yield attrs


def _prescan(head: bytes) -> str | None:
    """The encoding a ``<meta>`` in ``head`` declares (WHATWG "prescan a byte stream")."""
    for attrs in meta_tags(head[:PRESCAN_BYTES]):
        label = attrs.get(b"charset")
        if label is None and attrs.get(b"http-equiv", b"").lower() == b"content-type":
            found = _CONTENT_CHARSET.search(attrs.get(b"content", b""))
            label = next((g for g in found.groups() if g), None) if found else None
        name = _lookup(label)
        if name in ("utf-16be", "utf-16le"):
            return "utf-8"  # a page that can declare itself in ASCII is not UTF-16
        if name == "x-user-defined":
            return "windows-1252"
        if name is not None:
            return name
    return None


def detect_encoding(body: bytes, header_charset: str | None = None) -> str:
    """The WHATWG name of the encoding of an HTML ``body``: its byte order mark,
    else the header's ``charset`` (if it is a known label), else a ``<meta>``
    in its first 1024 bytes, else ``"utf-8"``."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return _lookup(header_charset) or _prescan(body) or "utf-8"


def decode_html(body: bytes, header_charset: str | None = None) -> str:
    """``body`` as text, in the encoding :func:`detect_encoding` finds (its
    byte order mark removed; bytes that do not decode become U+FFFD)."""
    name = detect_encoding(body, header_charset)
    for bom, bom_name in _BOMS:
        if name == bom_name and body.startswith(bom):
            body = body[len(bom):]
            break
    return webencodings.lookup(name).codec_info.decode(body, "replace")[0]


# -- Retry-After -----------------------------------------------------------------

def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait that a ``Retry-After`` header asks for, or None if it says nothing usable.

    ``value`` is a number of seconds (``"120"``) or an HTTP date
    (``"Wed, 21 Oct 2026 07:28:00 GMT"``; a date in the past means 0).
    ``now`` is the current Unix time (``time.time()`` unless given: tests pass
    their own clock). The caller caps the wait (by its deadline and a maximum
    of its own): a server may ask for an hour.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # not "²" or "١٢": str.isdigit() says yes, HTTP says no
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a 20-digit year
        return None
    if when is None or when.tzinfo is None:  # a date must say GMT
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# -- codings aiohttp does not undo ---------------------------------------------------

#: ``Content-Encoding`` values aiohttp inflates (one coding, lowercase), and ``identity``.
DECODED_CODINGS = frozenset({"gzip", "deflate", "br", "zstd", "identity"})


def unsupported_coding(headers) -> str | None:
    """``"Content-Encoding: gzip, gzip"`` (the header and its value) when the
    body is coded in a way aiohttp does not undo, else None.

    aiohttp inflates one ``Content-Encoding`` among :data:`DECODED_CODINGS`
    and de-chunks ``Transfer-Encoding: chunked``; anything else (stacked
    codings, ``x-gzip``, two ``Content-Encoding`` headers, a transfer coding
    such as ``gzip, chunked``) reaches the reader still coded.
    """
    content = ", ".join(headers.getall("Content-Encoding", ()))
    if content and content.strip().lower() not in DECODED_CODINGS:
        return f"Content-Encoding: {content}"
    transfer = ", ".join(headers.getall("Transfer-Encoding", ()))
    codings = [c.strip().lower() for c in transfer.split(",") if c.strip()]
    if any(c not in ("chunked", "identity") for c in codings):
        return f"Transfer-Encoding: {transfer}"
    return None
