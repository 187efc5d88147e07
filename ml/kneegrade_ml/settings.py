"""Settings of the ML side, read from ``KNEEGRADE_*`` environment variables."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class MLSettings(BaseSettings):
    """What training needs from the environment; command-line options override it."""

    model_config = SettingsConfigDict(env_prefix="KNEEGRADE_")

    pretrained: Path | None = None
    """A torchvision MobileNetV2 ImageNet state_dict; unset means torchvision's own download."""
