from pipelines.cli import print_definition
from pipelines.monitoring import build_monitoring_definition, monitoring_settings_from_config


def main(argv: list[str] | None = None) -> None:
    print_definition(
        lambda c: build_monitoring_definition(monitoring_settings_from_config(c)), argv
    )


if __name__ == "__main__":
    main()
