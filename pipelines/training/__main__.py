from infra.contracts import training_pipeline_settings
from pipelines.cli import print_definition
from pipelines.training import build_training_definition


def main(argv: list[str] | None = None) -> None:
    print_definition(lambda c: build_training_definition(training_pipeline_settings(c)), argv)


if __name__ == "__main__":
    main()
