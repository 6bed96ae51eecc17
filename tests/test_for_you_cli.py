"""`paperfeed recommend USER`: the reader's list as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import recokit
from paperfeed.cli import app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.recommend import signals

runner = CliRunner()


def test_recommend_prints_json_and_a_table(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    settings = Settings(database_url=f"sqlite:///{db}", data_dir=tmp_path)
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    ids = recokit.fill(factory)
    uid = recokit.reader(factory, settings)
    signals.record_signal(factory, user_id=uid, paper_id=ids["2605.00101"], kind="seed", now=recokit.NOW)
    engine.dispose()
    args = ["recommend", "reader", "--db", str(db), "--period", "month", "--date", "2026-06-01"]
    result = runner.invoke(app, [*args, "--json", "--limit", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["period"] == "month" and data["start"] == "2026-05-03"
    assert [i["paperId"] for i in data["items"]][:2] == ["2605.00102", "2606.00001"]
    assert data["items"][0]["reasons"] == [
        {"paperId": "2605.00101", "title": "Early Tuesday Paper", "kind": "seed"}
    ]
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and "2605.00102" in table.output and "imported" in table.output
    missing = runner.invoke(app, ["recommend", "nobody", "--db", str(db)])
    assert missing.exit_code == 1 and "no such user" in missing.output
    bad = runner.invoke(app, ["recommend", "reader", "--db", str(db), "--period", "year"])
    assert bad.exit_code == 2
