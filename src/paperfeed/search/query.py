"""Parse what a user typed into a safe, structured query; build tantivy queries from it.

The user's text is never handed to tantivy's query parser, so no input can be a syntax error: quotes make
phrases (an unclosed quote runs to the end), a leading ``-`` excludes a word, and every other character is
plain text. Words are analysed exactly as the index analyses them (lower case, ASCII folding, English stems).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

import tantivy

from paperfeed.text.arxiv_ids import InvalidArxivId, parse_arxiv_id

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_TERMS",
    "STOP_WORDS",
    "ParsedQuery",
    "QueryError",
    "best_correction",
    "build_text_query",
    "edit_distance",
    "name_analyzer",
    "parse_query",
    "scoring_terms",
    "stems",
    "text_analyzer",
    "title_key",
]

MAX_QUERY_CHARS = 4096  # a pasted abstract fits; a 10 kB blob is refused with a clear message
MAX_TERMS = 64  # more words add cost, not relevance
TEXT_TOKENIZER = "pf_en"
NAME_TOKENIZER = "pf_name"

# Controls, surrogates, non-characters and the replacement character (what undecodable URL bytes become).
_JUNK = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff\ufffd]")
_WORD = re.compile(r"\w+", re.UNICODE)
_SHORT_QUERY_TERMS = 3  # typo and prefix tolerance apply to queries of at most this many words
# Lucene's English stop set plus a few function words that are in most abstracts ("we", "from", "our").
# They stay in the index (phrases need them) but are not scored as free words: in a 1M-paper index "of"
# is in 97% of the documents, so it adds ~0.03 to a score while its posting list is the query's main cost.
_STOP_TEXT = (
    "a an and are as at be been but by can for from has have if in into is it its no not of on or our "
    "such than that the their then there these they this to via was we were which will with"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())


class QueryError(ValueError):
    """A query that cannot be searched at all (too long); the message says why."""


@cache
def text_analyzer() -> tantivy.TextAnalyzer:
    """The analyzer of the keyword text: words, lower case, ASCII folding, English stemming."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@cache
def name_analyzer() -> tantivy.TextAnalyzer:
    """The analyzer of exact-ish keys (titles): words, lower case, ASCII folding, no stemming."""
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def stems(text: str) -> list[str]:
    """The index terms of `text` (what the keyword field stores for it)."""
    return list(text_analyzer().analyze(text))


def word_stem(word: str) -> str | None:
    """The index term of one word, or None when it makes no single term (snippets ask this of every word
    that starts like a query term, the same words again and again: the answers are memoised)."""
    return _word_stem(word.lower())


@lru_cache(maxsize=65536)
def _word_stem(word: str) -> str | None:
    found = stems(word)
    return found[0] if len(found) == 1 else None


def title_key(title: str) -> str:
    """A title reduced to its words (folded, lower case), for exact-title matching: 'BERT: Pre-training' ->
    'bert pre training'."""
    return " ".join(name_analyzer().analyze(_clean(title)))[:1000]


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return _JUNK.sub(" ", text)


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    """A user query: the cleaned text, its words, phrases and exclusions, and exact-match keys."""

    text: str  # cleaned, for display and for the query embedding
    words: tuple[str, ...] = ()  # free words, in order (as typed, cleaned)
    phrases: tuple[tuple[str, ...], ...] = ()  # each a run of words that must appear in order
    excluded: tuple[str, ...] = ()  # words after a leading '-'
    arxiv_id: str | None = None  # the whole query is an arXiv id (any spelling, with or without version)
    title: str = ""  # title_key() of the whole query, for exact-title pinning
    terms: tuple[str, ...] = field(default=())  # analysed terms of words + phrases (for scoring)

    @property
    def is_empty(self) -> bool:
        """True when nothing searchable remains (empty, or only punctuation)."""
        return not self.terms and self.arxiv_id is None

    @property
    def short(self) -> bool:
        """Short queries get typo and prefix tolerance."""
        return 0 < len(self.terms) <= _SHORT_QUERY_TERMS


def parse_query(raw: str) -> ParsedQuery:
    """Parse user input; raises QueryError only for input too long to be a query."""
    if len(raw) > MAX_QUERY_CHARS:
        raise QueryError(f"query too long ({len(raw)} characters; at most {MAX_QUERY_CHARS})")
    text = " ".join(_clean(raw).split())
    arxiv_id = _as_arxiv_id(text)
    words: list[str] = []
    phrases: list[tuple[str, ...]] = []
    excluded: list[str] = []
    # Split on double quotes: odd-numbered parts are inside quotes (an unclosed quote runs to the end).
    for i, part in enumerate(text.split('"')):
        if i % 2:
            phrase = tuple(_WORD.findall(part))
            if len(phrase) > 1:
                phrases.append(phrase)
            else:
                words.extend(phrase)
            continue
        for token in part.split():
            if token.startswith("-") and len(token) > 1:
                excluded.extend(_WORD.findall(token))
            else:
                words.extend(_WORD.findall(token))
    words = words[:MAX_TERMS]
    terms: list[str] = []
    for w in [*words, *(w for p in phrases for w in p)]:
        terms.extend(stems(w))
    return ParsedQuery(
        text=text,
        words=tuple(words),
        phrases=tuple(phrases[:8]),
        excluded=tuple(excluded[:16]),
        arxiv_id=arxiv_id,
        title=title_key(text) if len(text) <= 1000 else "",
        terms=tuple(terms[:MAX_TERMS]),
    )


def _as_arxiv_id(text: str) -> str | None:
    if not text or len(text) > 200 or " " in text:
        return None
    try:
        arxiv_id, _version = parse_arxiv_id(text)
    except InvalidArxivId:
        return None
    return arxiv_id


def scoring_terms(terms: Sequence[str]) -> list[str]:
    """The terms worth scoring: stop words dropped, unless nothing else is left ("to be or not to be")."""
    content = [t for t in terms if t not in STOP_WORDS]
    return content or list(terms)


def marked_terms(parsed: ParsedQuery) -> frozenset[str]:
    """The index terms a snippet marks: the scored terms and every word of a quoted phrase."""
    return frozenset(scoring_terms(parsed.terms)) | {t for p in parsed.phrases for w in p for t in stems(w)}


def build_text_query(
    parsed: ParsedQuery,
    schema: tantivy.Schema,
    field_name: str,
    *,
    terms: Sequence[str] | None = None,
    terms_required: bool = True,
) -> tantivy.Query:
    """The scoring query: at least one scoring term must match (BM25 on one field), every phrase MUST match
    (stop words included), every excluded word MUST NOT. `terms` replaces the free terms when given; with
    `terms_required=False` and a phrase, the terms only add to the score."""
    chosen = scoring_terms(parsed.terms) if terms is None else terms
    should: list[tuple[tantivy.Occur, tantivy.Query]] = [
        (tantivy.Occur.Should, tantivy.Query.term_query(schema, field_name, t)) for t in chosen
    ]
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
    if should and not terms_required and parsed.phrases:
        clauses.extend(should)  # beside a MUST clause, tantivy treats SHOULD clauses as optional
    elif should:
        clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(should)))
    for phrase in parsed.phrases:
        phrase_terms: list[str | tuple[int, str]] = [t for w in phrase for t in stems(w)]
        if len(phrase_terms) > 1:
            clauses.append((tantivy.Occur.Must, tantivy.Query.phrase_query(schema, field_name, phrase_terms)))
        elif phrase_terms:
            clauses.append(
                (tantivy.Occur.Must, tantivy.Query.term_query(schema, field_name, str(phrase_terms[0])))
            )
    if not clauses:
        return tantivy.Query.empty_query()
    for word in parsed.excluded:
        for t in stems(word):
            clauses.append((tantivy.Occur.MustNot, tantivy.Query.term_query(schema, field_name, t)))
    if len(clauses) == 1:
        return clauses[0][1]
    return tantivy.Query.boolean_query(clauses)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a neighbour swap costs 1); limit + 1 once it exceeds limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1] if prev[-1] <= limit else limit + 1


def best_correction(term: str, candidates: Sequence[tuple[str, int]]) -> str | None:
    """The closest candidate (index term, document count) within 1 edit (2 for words of 8+ letters); ties
    go to the more frequent term. None when nothing is close enough."""
    limit = 2 if len(term) >= 8 else 1
    best: tuple[int, int, str] | None = None
    for cand, count in candidates:
        if cand == term:
            continue
        d = edit_distance(term, cand, limit)
        if d <= limit and (best is None or (d, -count) < (best[0], best[1])):
            best = (d, -count, cand)
    return best[2] if best else None
