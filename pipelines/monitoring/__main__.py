from infra.contracts import monitoring_pipeline_settings
from pipelines.cli import print_definition
from pipelines.monitoring import build_monitoring_definition


def main(argv: list[str] | None = None) -> None:
    print_definition(lambda c: build_monitoring_definition(monitoring_pipeline_settings(c)), argv)


if __name__ == "__main__":
    main()
