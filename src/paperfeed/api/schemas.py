"""Pydantic response schemas mirroring Hugging Face's /api/daily_papers and /api/papers/{id} shapes.

Field names follow Hugging Face exactly so clients written for it work against paperfeed. Keys Hugging Face
sends that we omit, and why:
- ``ai_summary``, ``ai_keywords``, ``ai_summary_model``: we do not generate LLM summaries.
- ``organization``: paperfeed has no organisations.
- ``githubRepoAddedBy``: we know where a link was found, not which user added it.
- ``mediaUrls``: we store no media.
- ``followerCount`` (on users): there are no followers; Hugging Face omits it too for some users.
- ``user``, ``status``, ``statusLastChangedAt`` (on authors) are sent only for an approved claim
  (status ``claimed_verified``, as Hugging Face marks a verified claim); unclaimed authors have none.
``discussionId`` is the id of the paper's comment thread (every paper has one: /api/papers/{id}/comments);
``numComments`` counts Hugging Face's comments (kept at ingest) plus paperfeed's own, as upvotes do.
``submittedBy`` / ``submittedOnDailyBy`` are left out when nobody submitted the paper (an arXiv listing),
as Hugging Face leaves them out for papers nobody submitted.
Optional keys (``githubRepo``, ``githubStars``, ``projectPage``, ``submittedOnDaily*``) are left out when
unknown, as Hugging Face does, rather than sent as null.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Schema(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class AuthorOut(_Schema):
    """A name on the byline."""

    id: str = Field(alias="_id", description="Stable author id (string, as on Hugging Face).")
    name: str
    hidden: bool = False
    user: UserOut | None = Field(default=None, description="The paperfeed user who claimed this place.")
    status: str | None = Field(default=None, description="'claimed_verified' once a moderator approved.")
    statusLastChangedAt: str | None = None


class UserOut(_Schema):
    """Who submitted a paper to the daily feed (a user, or the listing source such as arXiv)."""

    id: str = Field(alias="_id")
    name: str
    fullname: str
    user: str
    type: str = Field(description="'user' for people, 'source' for automatic listings (arXiv, OAI...).")
    avatarUrl: str
    isPro: bool = False
    isHf: bool = False
    isHfAdmin: bool = False
    isMod: bool = False
    isUserFollowing: bool = False


class PaperOut(_Schema):
    """The `paper` object: also the whole body of GET /api/papers/{id}."""

    id: str = Field(description="arXiv id without version, or paperfeed's key for papers without one.")
    authors: list[AuthorOut]
    publishedAt: str = Field(description="ISO 8601 UTC with milliseconds, e.g. 2026-05-30T00:00:00.000Z.")
    submittedOnDailyAt: str | None = None
    submittedOnDailyBy: UserOut | None = None
    title: str
    summary: str
    upvotes: int
    githubRepo: str | None = None
    githubStars: int | None = None
    projectPage: str | None = None
    discussionId: str | None = None
    numComments: int | None = Field(
        None, description="Only in GET /api/papers/{id}: Hugging Face's comments plus paperfeed's."
    )


class DailyPaperOut(_Schema):
    """One item of GET /api/daily_papers."""

    paper: PaperOut
    publishedAt: str
    title: str
    summary: str
    thumbnail: str
    numComments: int = 0
    submittedBy: UserOut | None = None
    isAuthorParticipating: bool = False


class ErrorOut(_Schema):
    """Body of every 400/404 answer."""

    error: str


AuthorOut.model_rebuild()  # it names UserOut, declared after it
