"""Configuration, read once from the environment (and `.env`), typed, and passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    config_dir: Path = Field(default=Path("config"), alias="COUNTERSIGN_CONFIG")
    port: int = Field(default=8080, ge=1, le=65535, alias="PORT")
    host: str = Field(default="0.0.0.0", alias="HOST")  # noqa: S104 - a server listens
    grant_key: SecretStr | None = Field(default=None, alias="COUNTERSIGN_GRANT_KEY")
    grant_key_file: Path = Field(
        default=Path(".countersign/grant-key.pem"), alias="COUNTERSIGN_GRANT_KEY_FILE"
    )
    webhook_secret: SecretStr | None = Field(default=None, alias="COUNTERSIGN_WEBHOOK_SECRET")
    key_prefix: str = Field(default="cs:", alias="COUNTERSIGN_KEY_PREFIX")
    sweep_interval: float = Field(default=1.0, gt=0, le=60, alias="COUNTERSIGN_SWEEP_INTERVAL")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")

    def require_for_serve(self) -> None:
        """Fail fast, naming the first missing setting `countersign serve` needs."""
        needed = [("REDIS_URL", self.redis_url), ("SLACK_BOT_TOKEN", self.slack_bot_token)]
        if self.slack_app_token is None:
            needed.append(("SLACK_SIGNING_SECRET", self.slack_signing_secret))
        for name, value in needed:
            if not value:
                raise ConfigError(f"Config '{name}' is missing, and has no default.")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = error["loc"][0] if error["loc"] else "?"
        raise ConfigError(f"Config '{name}' is invalid: {error['msg']}.") from None
