"""Terminal mode: the same service, no Slack: `slack-analyst ask --file … "question"`."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import DATASETS, REPO
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import CodeRun, GeneratedFile, ScriptedTurn, tiny_png

CSV = DATASETS / "fortune-style-1000-synthetic.csv"


async def test_ask_streams_the_answer_saves_files_and_takes_follow_ups(tmp_path: Path) -> None:
    chart = tiny_png(bars=(10, 20, 30))
    async with FakeOpenAI() as openai:
        openai.model.enqueue(
            ScriptedTurn(
                text="Northwind is first. See [the chart](sandbox:/mnt/data/top.png).",
                runs=(CodeRun("plot()", logs="done", files=(GeneratedFile("top.png", chart),)),),
            ),
            ScriptedTurn(text="Margins are thin."),
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(REPO),
            "HOME": str(tmp_path),
            "OPENAI_API_KEY": "sk-test",
            "OPENAI_BASE_URL": openai.base_url,
            "ANALYST_MODEL": "test-model",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "ask",
            "--file",
            str(CSV),
            "top 10 by revenue?",
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(
            process.communicate(b"and the margins?\n"), timeout=60
        )
        requests = [r.json for r in openai.requests_to("POST", "/responses")]

    out, err = stdout.decode(), stderr.decode()
    assert process.returncode == 0, err
    assert "Northwind is first. See the chart." in out
    assert "Margins are thin." in out
    assert "sandbox:" not in out
    assert (tmp_path / "analyst-output" / "top.png").read_bytes() == chart
    assert "running Python" in err
    assert len(requests) == 2
    assert requests[0]["conversation"] == requests[1]["conversation"]
    assert requests[0]["tool_choice"] == {"type": "code_interpreter"}
    assert not (tmp_path / "slack-analyst.db").exists()  # terminal mode leaves no database
