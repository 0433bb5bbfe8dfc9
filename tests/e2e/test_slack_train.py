"""``/arena-train`` on the Slack bot against the local Slack peer: refused to members in the acknowledgement; an
admin's run that cannot start posts a status message with the reason, leaving the arena unchanged."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_slack import command, db_rows, fake, http_app, settings_for  # noqa: F401 - fake: fixture
from tests.peers.slack import FakeSlack


async def test_arena_train_is_for_admins_and_a_run_that_cannot_start_says_why(fake: FakeSlack,  # noqa: F811
                                                                              tmp_path: Path) -> None:
    async with http_app(settings_for(fake, tmp_path)) as url:
        status, body, _ = await command(fake, url, "/arena-train", "matchup:pair")
        assert status == 200 and "can start a training run" in body
        status, body, _ = await command(fake, url, "/arena-train", "matchup:pair", user="UADMIN")
        assert status == 200 and body == ""
        posted = await fake.wait_for_call("chat.postMessage", lambda c: "Training" in c.args.get("text", ""))
        assert posted.args["text"].startswith("Training the next fine-tune from the votes on pair")
        failed = await fake.wait_for_call("chat.update", lambda c: "Training failed" in c.args.get("text", ""))
        assert failed.args["text"].endswith("The arena is unchanged.") and "served by echo" in failed.args["text"]
    assert db_rows(tmp_path, "SELECT count(*) FROM contenders") == [(0,)]
