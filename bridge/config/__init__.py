"""The one TOML configuration file: its typed settings (bridge/config/settings.py) and
how the file is read and checked (bridge/config/load.py). Import from here."""

from bridge.config.load import load_config, parse_config, starter_config
from bridge.config.settings import (
    ENV_ADMIN_TOKEN,
    ENV_CONFIG,
    ENV_DATABASE_URL,
    QUOTE_POLICIES,
    AdminConfig,
    BlogConfig,
    Config,
    ConfigError,
    DatabaseConfig,
    DeliveryConfig,
    LogConfig,
    ModerationConfig,
    QueueConfig,
    SecurityConfig,
    ServerConfig,
    config_path,
)

__all__ = [
    "ENV_ADMIN_TOKEN", "ENV_CONFIG", "ENV_DATABASE_URL", "QUOTE_POLICIES", "AdminConfig", "BlogConfig", "Config", "ConfigError",
    "DatabaseConfig", "DeliveryConfig", "LogConfig", "ModerationConfig", "QueueConfig", "SecurityConfig",
    "ServerConfig", "config_path", "load_config", "parse_config", "starter_config",
]
