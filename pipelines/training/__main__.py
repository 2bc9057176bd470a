from pipelines.cli import print_definition
from pipelines.training import build_training_definition, training_settings_from_config


def main(argv: list[str] | None = None) -> None:
    print_definition(lambda c: build_training_definition(training_settings_from_config(c)), argv)


if __name__ == "__main__":
    main()
