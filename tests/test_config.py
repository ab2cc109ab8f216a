"""Settings: every field documented; precedence is flag > environment > default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cortex.cli import app
from cortex.cli.state import CliState
from cortex.core.config import Settings
from cortex.core.errors import ConfigError
from cortex.embed import CachingEmbedder

DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"CORTEX_{name.upper()}", raising=False)


def test_every_setting_is_documented_with_env_var_and_default() -> None:
    text = DOC.read_text()
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        row = next((line for line in text.splitlines() if line.startswith(f"| `{name}` |")),
                   None)
        assert row is not None, f"{name} is missing from docs/configuration.md"
        assert f"`CORTEX_{name.upper()}`" in row and f"`{field.default}`" in row


def test_defaults() -> None:
    settings = Settings.load()
    assert settings.store_url == "sqlite:///./cortex.db"
    assert (settings.tenant, settings.embedder, settings.batch_size) == ("default", "minilm", 64)
    assert (settings.max_text_bytes, settings.max_metadata_bytes) == (32768, 16384)
    assert (settings.working_max_messages, settings.working_max_tokens) == (50, 4000)


def test_environment_beats_default_and_override_beats_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_TENANT", "from-env")
    monkeypatch.setenv("CORTEX_BATCH_SIZE", "7")
    assert Settings.load().tenant == "from-env"
    assert Settings.load().batch_size == 7
    assert Settings.load(tenant="from-flag").tenant == "from-flag"
    assert Settings.load(tenant=None).tenant == "from-env"  # an unset flag is not a value


def test_invalid_values_raise_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_WORKING_MAX_TOKENS", "-1")
    with pytest.raises(ConfigError, match="CORTEX_WORKING_MAX_TOKENS"):
        Settings.load()


def test_precedence_through_the_cli(tmp_path: Path, embedder: CachingEmbedder,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    env_store = f"sqlite:///{tmp_path / 'env.db'}"
    flag_store = f"sqlite:///{tmp_path / 'flag.db'}"
    monkeypatch.setenv("CORTEX_STORE_URL", env_store)
    monkeypatch.setenv("CORTEX_TENANT", "env-tenant")

    def stats(*args: str) -> dict[str, str]:
        result = runner.invoke(app, [*args, "stats", "--json"], obj=CliState(embedder=embedder))
        assert result.exit_code == 0, result.output
        data: dict[str, str] = json.loads(result.stdout)
        return data

    from_env = stats()
    assert (from_env["store"], from_env["tenant"]) == (env_store, "env-tenant")
    from_flags = stats("--store", flag_store, "--tenant", "flag-tenant")
    assert (from_flags["store"], from_flags["tenant"]) == (flag_store, "flag-tenant")
    monkeypatch.delenv("CORTEX_TENANT")
    assert stats()["tenant"] == "default"


def test_import_batch_size_flag_beats_environment(tmp_path: Path, embedder: CachingEmbedder,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORTEX_BATCH_SIZE", "2")
    data = tmp_path / "items.jsonl"
    data.write_text("".join(json.dumps({"text": f"item {n}"}) + "\n" for n in range(6)))
    runner = CliRunner()

    def batches(*extra: str) -> list[int]:
        result = runner.invoke(app, ["--store", f"sqlite:///{tmp_path / 'b.db'}", "import",
                                     str(data), "--json", *extra],
                               obj=CliState(embedder=embedder))
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        return [e["count"] for e in lines if e["event"] == "committed"]

    assert batches() == [2, 2, 2]
    assert batches("--batch-size", "5") == [5, 1]
