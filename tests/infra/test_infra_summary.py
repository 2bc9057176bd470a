"""`make demo`'s summary of what a deploy creates, read from the synthesized template."""

from __future__ import annotations

from infra.summary import load_templates, main, render


def test_summary_counts_resources_and_explains_every_rule_and_pipeline(dev):
    text = render(load_templates(dev.outdir))
    prefix = dev.config.prefix
    assert f"Stack {prefix}:" in text
    assert "AWS::Lambda::Function" in text and "AWS::SageMaker::Pipeline" in text
    assert f"{prefix}-data-arrival\n      on   aws.s3 / Object Created\n" in text
    assert f"->   Lambda {prefix}-data-arrival" in text
    schedule = f"{prefix}-monitoring-schedule\n      on   rate(1 hour)\n"
    assert f"{schedule}      ->   Lambda {prefix}-deploy" in text, text
    assert f"{prefix}-training: " in text
    assert "(Condition: then Register" in text, text


def test_summary_without_templates_says_what_to_run(tmp_path, capsys):
    assert main([str(tmp_path)]) == 1
    assert "run `make synth` first" in capsys.readouterr().err
