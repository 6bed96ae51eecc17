"""Every table of every capability on one MetaData: what migrations and schema checks compare against."""

from __future__ import annotations

from sqlalchemy import MetaData

# Imported for their side effect: each module declares its tables on the shared Base.
from paperfeed.accounts import models as account_models  # noqa: F401
from paperfeed.community import models as community_models  # noqa: F401
from paperfeed.db.models import Base
from paperfeed.digests import ledger_models  # noqa: F401
from paperfeed.digests import models as digest_models  # noqa: F401
from paperfeed.jobs import models as job_models  # noqa: F401
from paperfeed.ranking import models as ranking_models  # noqa: F401
from paperfeed.recommend import models as recommend_models  # noqa: F401
from paperfeed.search import models as search_models  # noqa: F401


def metadata() -> MetaData:
    """The MetaData holding all tables."""
    return Base.metadata
