"""The training pipeline: Validate -> Preprocess -> Train -> Evaluate -> Baseline -> Condition
-> Register (or Fail with the reason).

Baseline needs only the train split, so it runs beside Train; the Condition waits for it, so
a registered model always has its baseline. Step outputs go to
`s3://${ArtifactsBucket}/pipelines/<execution id>/<output>/`.
"""

from __future__ import annotations

from typing import Any

from sagemaker.core.model_metrics import MetricsSource, ModelMetrics
from sagemaker.core.model_registry import create_model_package_from_containers
from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output
from sagemaker.core.training.configs import Compute, InputData, OutputDataConfig
from sagemaker.core.workflow.conditions import (
    ConditionGreaterThanOrEqualTo,
    ConditionLessThanOrEqualTo,
)
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import _ModelStepArguments
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import ProcessingStep, TrainingStep
from sagemaker.train.model_trainer import ModelTrainer

from pipelines import sdk
from pipelines.entrypoints.common import pack_schema
from pipelines.entrypoints.validate import DATA_OBJECTS_FILE
from pipelines.model_spec import pack_params
from pipelines.settings import TrainingPipelineSettings
from pipelines.steps import serving_input
from pipelines.steps.evaluate import (
    OBJECTIVE_GATE_PATH,
    OBJECTIVE_REGRESSION_PATH,
    OBJECTIVE_VALUE_PATH,
)

PLACEHOLDERS = (
    "PipelineRoleArn",
    "CodeBundleUri",
    "CodeVersion",
    "DataBucket",
    "ArtifactsBucket",
    "ModelPackageGroupName",
    "SklearnImageUri",
    "EndpointName",
    "KmsKeyArn",
    "AWS::Region",
)
ROLE, IMAGE, CODE = "${PipelineRoleArn}", "${SklearnImageUri}", "${CodeBundleUri}"
# What the served model reads (and answers with): the registry lists the handlers' own types.
CONTENT_TYPES = list(serving_input.CONTENT_TYPES)
TRAIN_PROGRAM = "pipelines/entrypoints/train.py"
IN, OUT = "/opt/ml/processing/input", "/opt/ml/processing/output"


class _Parameters:
    def __init__(self, s: TrainingPipelineSettings) -> None:
        self.input_data_uri = ParameterString("InputDataUri", "s3://${DataBucket}/incoming/")
        self.manifest_uri = ParameterString("DataManifestUri", "")
        self.trigger_id = ParameterString("TriggerEventId", "manual")
        self.trigger_type = ParameterString("TriggerEventType", "manual")
        self.approval = ParameterString("ModelApprovalStatus", s.approval_status)
        self.threshold = ParameterFloat("MetricThreshold", s.metric_threshold)
        self.proc_type = ParameterString("ProcessingInstanceType", s.processing_instance_type)
        self.proc_count = ParameterInteger("ProcessingInstanceCount", s.processing_instance_count)
        self.train_type = ParameterString("TrainingInstanceType", s.training_instance_type)
        self.train_count = ParameterInteger("TrainingInstanceCount", s.training_instance_count)

    def all(self) -> list[Any]:
        return [
            self.input_data_uri,
            self.manifest_uri,
            self.trigger_id,
            self.trigger_type,
            self.approval,
            self.threshold,
            self.proc_type,
            self.proc_count,
            self.train_type,
            self.train_count,
        ]


def _execution_uri(*parts: str) -> Join:
    return Join(
        on="/",
        values=[
            "s3://${ArtifactsBucket}/pipelines",
            ExecutionVariables.PIPELINE_EXECUTION_ID,
            *parts,
        ],
    )


def _output(name: str, local: str) -> ProcessingOutput:
    return ProcessingOutput(
        output_name=name,
        s3_output=ProcessingS3Output(
            s3_uri=_execution_uri(name), local_path=local, s3_upload_mode="EndOfJob"
        ),
    )


def _output_uri(step: ProcessingStep, name: str) -> Any:
    return step.properties.ProcessingOutputConfig.Outputs[name].S3Output.S3Uri


class _Builder:
    def __init__(self, settings: TrainingPipelineSettings) -> None:
        self.s = settings
        self.p = _Parameters(settings)
        self.session = sdk.offline_session()
        self.schema_args = ["--schema", *pack_schema(settings.dataset)]

    def processing(
        self,
        name: str,
        module: str,
        inputs: list,
        outputs: list,
        args: list,
        property_files: list[PropertyFile] | None = None,
    ) -> ProcessingStep:
        return sdk.processing_step(
            self.session,
            name,
            module,
            instance_type=self.p.proc_type,
            instance_count=self.p.proc_count,
            volume_kms_key=sdk.volume_kms_key(self.s.processing_instance_type),
            inputs=inputs,
            outputs=outputs,
            args=[*self.schema_args, *args],
            property_files=property_files,
        )

    def train(self, preprocess: ProcessingStep) -> TrainingStep:
        hyperparameters = {
            "sagemaker_program": TRAIN_PROGRAM,
            "sagemaker_submit_directory": CODE,
            "sagemaker_region": "${AWS::Region}",
            **_model_hyperparameters(self.s),
            "seed": str(self.s.split_seed),
        }
        trainer = ModelTrainer(
            training_image=IMAGE,
            role=sdk._SHAPE_ONLY_ROLE,
            sagemaker_session=self.session,
            compute=Compute(
                instance_type=self.p.train_type,
                instance_count=self.p.train_count,
                volume_kms_key_id=sdk.volume_kms_key(self.s.training_instance_type),
            ),
            hyperparameters=hyperparameters,
            output_data_config=OutputDataConfig(s3_output_path=_execution_uri("model")),
            base_job_name="train",
        )
        trainer.role = ROLE  # the SDK validates the role at construction; ship the placeholder
        step_args = trainer.train(
            input_data_config=[
                InputData(
                    channel_name=channel,
                    data_source=_output_uri(preprocess, channel),
                    content_type="text/csv",
                )
                for channel in ("train", "validation")
            ]
        )
        return TrainingStep(name="Train", step_args=step_args)

    def register(
        self, train: TrainingStep, evaluation_uri: Join, baseline_uri: Join, lineage: dict
    ) -> ModelStep:
        container = {
            "Image": IMAGE,
            "ModelDataUrl": train.properties.ModelArtifacts.S3ModelArtifacts,
            "Environment": {
                "SAGEMAKER_PROGRAM": "inference.py",
                "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
                "SAGEMAKER_REGION": "${AWS::Region}",
            },
        }
        metrics = ModelMetrics(
            model_statistics=MetricsSource(content_type="application/json", s3_uri=evaluation_uri)
        )
        # ModelBuilder.register() would upload code to a default bucket; the registry request
        # itself is all a RegisterModel step needs, so build it with the SDK's own helper.
        step_args = _ModelStepArguments(_SessionHolder(self.session))
        self.session.context = step_args
        create_model_package_from_containers(
            self.session,
            containers=[container],
            content_types=CONTENT_TYPES,
            response_types=CONTENT_TYPES,
            inference_instances=list(self.s.inference_instance_types),
            transform_instances=[self.s.processing_instance_type],
            model_package_group_name="${ModelPackageGroupName}",
            model_metrics=metrics._to_request_dict(),
            approval_status=self.p.approval,
            customer_metadata_properties=lineage,
            skip_model_validation="None",
        )
        self.session.context = None
        return ModelStep(name="Register", step_args=step_args)


class _SessionHolder:
    """What ModelStep checks on step_args.model: that it was built under a PipelineSession."""

    def __init__(self, session: sdk.OfflinePipelineSession) -> None:
        self.sagemaker_session = session


def build_pipeline(settings: TrainingPipelineSettings) -> Pipeline:
    b = _Builder(settings)
    p = b.p
    validation_report = PropertyFile(
        name="ValidationReport", output_name="report", path="validation.json"
    )
    # No data input: a ProcessingInput downloads each key's latest version, and a run reads the
    # versions of its manifest, which Validate GETs itself (pipelines/entrypoints/data_input.py).
    validate = b.processing(
        "Validate",
        "validate",
        inputs=[],
        outputs=[_output("validated", f"{OUT}/validated"), _output("report", f"{OUT}/report")],
        args=[
            "--data-dir", f"{IN}/data",
            "--output", f"{OUT}/validated",
            "--report", f"{OUT}/report",
            "--input-uri", p.input_data_uri,
            "--manifest-uri", p.manifest_uri,
            "--trigger-event-id", p.trigger_id,
            "--trigger-event-type", p.trigger_type,
            "--max-decompression-ratio", repr(settings.max_decompression_ratio),
            "--max-uncompressed-mb", str(settings.max_uncompressed_mb),
            "--quarantine-prefix", settings.quarantine_prefix,
        ],
        property_files=[validation_report],
    )  # fmt: skip
    preprocess = b.processing(
        "Preprocess",
        "preprocess",
        inputs=[sdk.s3_input("validated", _output_uri(validate, "validated"), f"{IN}/validated")],
        outputs=[_output(n, f"{OUT}/{n}") for n in ("train", "validation", "test")],
        args=[
            "--input", f"{IN}/validated",
            "--output", OUT,
            "--seed", str(settings.split_seed),
            "--validation-fraction", repr(settings.validation_fraction),
            "--test-fraction", repr(settings.test_fraction),
        ],
    )  # fmt: skip
    train = b.train(preprocess)
    evaluation = PropertyFile(
        name="EvaluationReport", output_name="evaluation", path="evaluation.json"
    )
    evaluate = b.processing(
        "Evaluate",
        "evaluate",
        inputs=[
            sdk.s3_input("model", train.properties.ModelArtifacts.S3ModelArtifacts, f"{IN}/model"),
            sdk.s3_input("test", _output_uri(preprocess, "test"), f"{IN}/test"),
        ],
        outputs=[_output("evaluation", f"{OUT}/evaluation")],
        args=[
            "--model", f"{IN}/model",
            "--test", f"{IN}/test",
            "--output", f"{OUT}/evaluation",
            "--metric", settings.metric_name,
            "--threshold", p.threshold.to_string(),
            "--tolerance", repr(settings.tolerance),
            "--gate", settings.metric_gate,
            "--confidence", repr(settings.metric_confidence),
            "--live-record-uri", "s3://${ArtifactsBucket}/live/${EndpointName}.json",
        ],
        property_files=[evaluation],
    )  # fmt: skip
    baseline = b.processing(
        "Baseline",
        "baseline",
        inputs=[sdk.s3_input("train", _output_uri(preprocess, "train"), f"{IN}/train")],
        outputs=[_output("baseline", f"{OUT}/baseline")],
        args=["--train", f"{IN}/train", "--output", f"{OUT}/baseline"],
    )
    evaluation_uri = Join(on="/", values=[_output_uri(evaluate, "evaluation"), "evaluation.json"])
    data_objects_uri = Join(on="/", values=[_output_uri(validate, "report"), DATA_OBJECTS_FILE])
    baseline_uri = Join(on="/", values=[_output_uri(baseline, "baseline"), "baseline.json"])
    metric_value = JsonGet(
        step_name="Evaluate", property_file=evaluation, json_path=OBJECTIVE_VALUE_PATH
    )
    regression = JsonGet(
        step_name="Evaluate", property_file=evaluation, json_path=OBJECTIVE_REGRESSION_PATH
    )
    # The metric itself, or its unfavourable confidence bound (metric.gate in the config).
    gated = JsonGet(step_name="Evaluate", property_file=evaluation, json_path=OBJECTIVE_GATE_PATH)
    lineage = _lineage(
        validation_report, evaluation, evaluation_uri, baseline_uri, data_objects_uri, settings
    )
    register = b.register(train, evaluation_uri, baseline_uri, lineage)
    compare = (
        ConditionGreaterThanOrEqualTo
        if settings.metric_greater_is_better
        else ConditionLessThanOrEqualTo
    )
    reject = FailStep(
        name="RejectModel",
        error_message=Join(
            on=" ",
            values=[
                f"model not registered: {settings.metric_name}", metric_value,
                *_gate_words(settings, gated), "vs threshold", p.threshold,
                "; worse than the live model by", regression,
                f"(tolerance {settings.tolerance})",
            ],
        ),
    )  # fmt: skip
    condition = ConditionStep(
        name="CheckMetric",
        conditions=[
            compare(left=gated, right=p.threshold),
            ConditionLessThanOrEqualTo(left=regression, right=settings.tolerance),
        ],
        if_steps=[register],
        else_steps=[reject],
        depends_on=[baseline],
    )
    return Pipeline(
        name=settings.pipeline_name,
        parameters=p.all(),
        steps=[validate, preprocess, train, evaluate, baseline, condition],
        sagemaker_session=b.session,
        pipeline_experiment_config=None,
    )


def _model_hyperparameters(settings: TrainingPipelineSettings) -> dict[str, str]:
    """The training job's view of the config's model section (entrypoints/train.py)."""
    model = settings.model
    chosen = (
        {"entry_point": model.module_name} if model.module_name else {"algorithm": model.algorithm}
    )
    return {**chosen, "model_params": pack_params(model.hyperparameters)}


def _gate_words(settings: TrainingPipelineSettings, gated: JsonGet) -> list[Any]:
    """How the reason names the gate value, when it is not the metric itself."""
    if settings.metric_gate == "point":
        return []
    bound = "lower" if settings.metric_greater_is_better else "upper"
    return [f"with a {settings.metric_confidence:.0%} {bound} bound of", gated]


def _lineage(
    validation: PropertyFile,
    evaluation: PropertyFile,
    evaluation_uri: Join,
    baseline_uri: Join,
    data_objects_uri: Join,
    settings: TrainingPipelineSettings,
) -> dict[str, Any]:
    """CustomerMetadataProperties. Values from parameters come through Validate's report,
    which makes them registry-safe (non-empty, allowed characters, at most 256)."""

    def from_validation(key: str) -> JsonGet:
        return JsonGet(step_name="Validate", property_file=validation, json_path=f"lineage.{key}")

    def evaluated(key: str) -> JsonGet:
        return JsonGet(step_name="Evaluate", property_file=evaluation, json_path=f"objective.{key}")

    return {
        "InputDataUri": from_validation("InputDataUri"),
        "DataManifestUri": from_validation("DataManifestUri"),
        # The object versions the run read (the manifest's, less any that were gone).
        "DataObjectsUri": data_objects_uri,
        "TriggerEventId": from_validation("TriggerEventId"),
        "TriggerEventType": from_validation("TriggerEventType"),
        "PipelineExecutionArn": ExecutionVariables.PIPELINE_EXECUTION_ARN,
        "CodeVersion": "${CodeVersion}",
        "BaselineUri": baseline_uri,
        "EvaluationUri": evaluation_uri,
        "MetricName": settings.metric_name,
        "MetricValue": evaluated("value_text"),
        "MetricSampleSize": evaluated("sample_size_text"),
        "MetricLowerBound": evaluated("lower_text"),
        "MetricUpperBound": evaluated("upper_text"),
        "MetricConfidence": repr(settings.metric_confidence),
        "MetricGate": settings.metric_gate,
    }


def build_training_definition(settings: TrainingPipelineSettings) -> str:
    with sdk.quiet_sdk():
        definition = sdk.canonical(build_pipeline(settings).definition())
    sdk.check_placeholders(definition, PLACEHOLDERS)
    return definition
