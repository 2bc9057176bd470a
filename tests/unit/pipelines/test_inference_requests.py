"""A malformed request to the served model is the client's 4xx, named; never the model's 5xx."""

import json

import flask
import pytest

from pipelines.steps import inference

ROW = "1.0,51.59,1.0,41.0,36.3,one-year,wallet,west"
RECORD = {
    "tenure_months": 1,
    "monthly_charges": 51.59,
    "support_calls": 1,
    "age": 41,
    "data_usage_gb": 36.3,
    "contract": "one-year",
    "payment_method": "wallet",
    "region": "west",
}
HUGE = "1" + "0" * 400  # 10**400 written out


def _serve(model, body, content_type="text/csv", accept="application/json"):
    """The handlers in the order the serving container calls them."""
    data = inference.input_fn(body, content_type)
    return inference.output_fn(inference.predict_fn(data, model), accept)


MALFORMED = [
    (
        "deep-json",
        "[" * 100_000 + "]" * 100_000,
        "application/json",
        400,
        "JSON nested more than 5 levels deep",
    ),
    (
        "huge-int",
        f'{{"instances": [[{HUGE}, 2, 3, 4, 5, "a", "b", "c"]]}}',
        "application/json",
        400,
        r"\(401 digits\) does not fit a float",
    ),
    (
        "huge-float",
        json.dumps([RECORD]).replace("51.59", "1e400"),
        "application/json",
        400,
        "1e400 does not fit a float",
    ),
    (
        "infinity",
        json.dumps([RECORD]).replace("51.59", "Infinity"),
        "application/json",
        400,
        "Infinity is not a finite number",
    ),
    (
        "huge-csv",
        ROW.replace("51.59", HUGE),
        "text/csv",
        400,
        r"row 0, feature monthly_charges: '10+'\.\.\. \(401 chars\) does not fit a finite float",
    ),
    (
        "csv-1e400",
        ROW.replace("51.59", "1e400"),
        "text/csv",
        400,
        "row 0, feature monthly_charges: '1e400' does not fit a finite float",
    ),
    ("few-columns", "1,2,3\n", "text/csv", 400, "expected 8 values per row .* got 3"),
    ("ragged-csv", ROW + "\n" + ROW + ",9,9\n", "text/csv", 400, "malformed CSV: .*Expected 8"),
    (
        "ragged-json",
        json.dumps([[1, 2], [1, 2, 3]]),
        "application/json",
        400,
        r"JSON rows differ in length: \[2, 3\]",
    ),
    (
        "missing",
        json.dumps({k: v for k, v in RECORD.items() if k != "age"}),
        "application/json",
        400,
        "expected features tenure_months, .*; got missing age",
    ),
    (
        "unknown",
        json.dumps({**RECORD, "customer_id": 7}),
        "application/json",
        400,
        "got unknown customer_id",
    ),
    (
        "nested-value",
        json.dumps({**RECORD, "age": [41]}),
        "application/json",
        400,
        "row 0, 'age': a value must be a number, string or null, not \\[41\\]",
    ),
    (
        "non-utf8",
        b"\xff\xfe" + ROW.encode(),
        "text/csv",
        400,
        r"not valid UTF-8: byte b'\\xff\\xfe.*' at offset 0",
    ),
    ("replaced-utf8", "\ufffd" + ROW, "text/csv", 400, "not valid UTF-8"),
    ("empty", "", "text/csv", 400, "empty request body"),
    ("blank", b"  \n ", "application/json", 400, "empty request body"),
    ("no-rows", '{"instances": []}', "application/json", 400, "instances list has no rows"),
    ("header-only", ",".join(RECORD), "text/csv", 400, "a header row but no values"),
    ("bad-json", '{"instances": [', "application/json", 400, "malformed JSON"),
    ("scalar-json", "42", "application/json", 400, "JSON body must be a record, a list"),
    ("content-type", ROW, "application/x-parquet", 415, "unsupported content type"),
]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_a_malformed_request_is_a_named_4xx(churn_model, body, content_type, status, message):
    model, _, _ = churn_model
    with pytest.raises(inference.RequestError, match=message) as error:
        _serve(model, body, content_type)
    # status_code is what the serving toolkit answers the request with.
    assert error.value.status_code == status


def test_an_unsupported_accept_is_406(churn_model):
    model, _, _ = churn_model
    with pytest.raises(
        inference.RequestError, match="unsupported Accept type 'application/xml'"
    ) as error:
        _serve(model, ROW, accept="application/xml")
    assert error.value.status_code == 406


def test_well_formed_requests_still_predict(churn_model):
    model, _, _ = churn_model
    text, kind = _serve(model, json.dumps({"instances": [RECORD, RECORD]}), "application/json")
    assert kind == "application/json" and len(json.loads(text)["predictions"]) == 2
    text, kind = _serve(model, f"{ROW}\n,,,,,,,\n", "text/csv", "text/csv")  # blanks are missing
    assert kind == "text/csv" and len(text.splitlines()) == 2


class SageMakerContainersWorker(flask.Flask):
    """Stands for sagemaker_containers._worker.Worker, the Flask app the single-model
    scikit-learn container serves with (installing that package would downgrade Flask to 1.x);
    the handlers recognise it by the module its class lives in."""


SageMakerContainersWorker.__module__ = "sagemaker_containers._worker"


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        ("1,2,3\n", "text/csv", "application/json", 400, "expected 8 values per row"),
        (
            "[" * 1000 + "]" * 1000,
            "application/json",
            "application/json",
            400,
            "nested more than 5 levels",
        ),
        (ROW, "application/x-parquet", "application/json", 415, "unsupported content type"),
        (ROW, "text/csv", "application/xml", 406, "unsupported Accept type"),
    ],
)
def test_under_the_flask_worker_a_rejection_is_a_response(
    churn_model, body, content_type, accept, status, message
):
    # That worker answers any exception from the handlers with a 500, so the handlers must not
    # raise: the rejection travels to output_fn, which returns a response with the status.
    model, _, _ = churn_model
    app = SageMakerContainersWorker("probe")
    with app.test_request_context("/invocations", method="POST", data=body):
        response = _serve(model, body, content_type, accept)
    assert isinstance(response, flask.Response)
    assert response.status_code == status
    assert response.mimetype == "application/json"
    assert message in json.loads(response.get_data(as_text=True))["message"]


def test_under_the_flask_worker_a_good_request_is_a_prediction(churn_model):
    model, _, _ = churn_model
    with SageMakerContainersWorker("probe").test_request_context("/invocations", method="POST"):
        text, kind = _serve(model, ROW, "text/csv", "text/csv")
    assert kind == "text/csv" and text.count(",") == 1
