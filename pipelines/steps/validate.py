"""The quality gate, object by object: a bad object is set aside, the run goes on with the rest.

`validate_objects` checks each data object on its own (readable, its header, every value against
the schema) and names it, key and version, in each of its violations; an object with any
violation is rejected whole (its verdict says why, for quarantine) and the others are accepted.
Then the accepted rows together must be enough (`dataset.min_rows`), not too duplicated, and
hold more than one class. Every check runs and every violation is reported, not only the first.

Memory is bounded by one batch of one file (`ReadLimits.block_bytes` of CSV, a Parquet batch):
the accepted rows are written out batch by batch as typed Parquet (`ObjectVerdict.output`), and
all that is kept across files is counts, a few example values and an 8-byte hash per row (the
duplicate check).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipelines.limits import ReadLimits
from pipelines.schema import DatasetSchema
from pipelines.steps.parquet_types import parquet_type_problems
from pipelines.steps.reader import UnreadableData, open_batches
from pipelines.steps.tabular import read_typed, text_batch, type_batch, typed_schema
from pipelines.steps.verdicts import ObjectRef, ObjectVerdict, ValidationReport, Violation

# How many offending values a message quotes.
_EXAMPLES = 3


def validate_objects(
    objects: Sequence[tuple[ObjectRef, Path]],
    schema: DatasetSchema,
    limits: ReadLimits,
    work_dir: Path,
) -> ValidationReport:
    """Check each (object, local file); accepted rows go to `work_dir/part-<n>.parquet`."""
    if not objects:
        return ValidationReport(
            False, 0, violations=["no data objects (.csv, .csv.gz or .parquet) in the input"]
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    verdicts, hashes, classes = [], [], Counter()
    for i, (ref, path) in enumerate(objects):
        checker = _ObjectChecker(ref, schema, work_dir / f"part-{i:05d}.parquet")
        try:
            checker.read(path, limits)
        except UnreadableData as exc:
            checker.violations.append(Violation(exc.reason, exc.message))
        verdict = checker.verdict()
        verdicts.append(verdict)
        if verdict.accepted:
            hashes.append(checker.row_hashes())
            classes.update(checker.classes)
    return _run_report(verdicts, hashes, classes, schema)


def validate_frame(
    raw: pd.DataFrame, schema: DatasetSchema, work_dir: Path, name: str = "frame"
) -> tuple[pd.DataFrame, ValidationReport]:
    """One frame of text values (as read from a CSV) checked as one object."""
    checker = _ObjectChecker(ObjectRef(name), schema, work_dir / "part-00000.parquet")
    checker.check_columns(list(map(str, raw.columns)))
    if not checker.violations:
        checker.add(text_batch(raw[list(schema.columns)]))
    verdict = checker.verdict()
    accepted = [checker.row_hashes()] if verdict.accepted else []
    report = _run_report([verdict], accepted, checker.classes, schema)
    typed = read_typed(verdict.output, schema) if verdict.output else pd.DataFrame()
    return typed, report


class _ObjectChecker:
    """Counts of every problem over the batches of one object, and its typed rows on disk."""

    def __init__(self, ref: ObjectRef, schema: DatasetSchema, output: Path) -> None:
        self.ref, self.schema, self.output = ref, schema, output
        self.rows = 0
        self.violations: list[Violation] = []
        self.warnings: list[str] = []
        self.classes: Counter = Counter()
        self._hashes: list[np.ndarray] = []
        self._nulls: Counter = Counter()
        self._bad: dict[str, list] = {}  # column -> [count, examples]
        self._low: dict[str, list] = {}  # column -> [count, smallest]
        self._high: dict[str, list] = {}
        self._writer: pq.ParquetWriter | None = None

    def read(self, path: Path, limits: ReadLimits) -> None:
        with open_batches(path, limits, list(self.schema.columns)) as opened:
            self.check_columns(opened.schema.names)
            if opened.format == "parquet":
                for problem in parquet_type_problems(opened.schema, self.schema):
                    self.violations.append(Violation("wrong_column_type", problem))
            if self.violations:
                return
            for batch in opened.batches:
                self.add(batch)
        if opened.ragged.count:
            self.violations.append(Violation("ragged_rows", opened.ragged.message()))

    def check_columns(self, names: list[str]) -> None:
        missing = [c for c in self.schema.columns if c not in names]
        if missing:
            self.violations.append(
                Violation("header_missing_columns", f"missing column(s) {', '.join(missing)}")
            )
        extra = [c for c in names if c not in self.schema.columns]
        if extra:
            self.warnings.append(f"{self.ref}: extra column(s) ignored: {', '.join(extra)}")

    def add(self, batch: pa.RecordBatch) -> None:
        """Count one batch's problems with Arrow kernels (no Python object per value)."""
        typed = type_batch(batch, self.schema)
        data = typed.arrow
        self.rows += data.num_rows
        for name, bad in typed.not_numeric.items():
            _tally(self._bad, name, bad)
        for feature in self.schema.features:
            name = feature.name
            col = data.column(name)
            self._nulls[name] += col.null_count - len(typed.not_numeric.get(name, ()))
            if feature.min is not None:
                _extreme(self._low, name, col, pc.less(col, feature.min), "min")
            if feature.max is not None:
                _extreme(self._high, name, col, pc.greater(col, feature.max), "max")
            if feature.categories is not None:
                _tally(self._bad, name, _outside(col, feature.categories))
        target = data.column(self.schema.target)
        self._nulls[self.schema.target] += target.null_count - len(
            typed.not_numeric.get(self.schema.target, ())
        )
        if self.schema.problem_type == "classification":
            for entry in pc.value_counts(target.drop_null()).to_pylist():
                self.classes[entry["values"]] += entry["counts"]
            if self.schema.classes is not None:
                _tally(self._bad, self.schema.target, _outside(target, self.schema.classes))
        self._hashes.append(_row_hashes(data))
        if self._writer is None:
            # Dictionaries for the text columns only (on float columns they cost most of the
            # write time for nothing), and no compression: a scratch file of one run.
            text = [f.name for f in typed_schema(self.schema) if f.type == pa.string()]
            self._writer = pq.ParquetWriter(
                self.output, typed_schema(self.schema), use_dictionary=text, compression="none"
            )
        self._writer.write_batch(data)

    def verdict(self) -> ObjectVerdict:
        if self._writer is not None:
            self._writer.close()
        if not self.violations:
            self.violations = self._value_violations()
        accepted = not self.violations
        if not accepted:
            self.output.unlink(missing_ok=True)
        return ObjectVerdict(
            self.ref,
            accepted,
            self.rows,
            self.violations,
            self.warnings,
            self.output if accepted else None,
        )

    def row_hashes(self) -> np.ndarray:
        return np.concatenate(self._hashes) if self._hashes else np.empty(0, np.uint64)

    def _value_violations(self) -> list[Violation]:
        out, schema, n = [], self.schema, self.rows
        if n == 0:
            return [Violation("no_rows", "a header and no data rows")]
        for feature in schema.features:
            name = feature.name
            if name in self._bad:
                count, examples = self._bad[name]
                if feature.type == "numeric":
                    out.append(
                        Violation(
                            "non_numeric_values",
                            f"column {name}: {count} non-numeric value(s), e.g. {_quote(examples)}",
                        )
                    )
                else:
                    out.append(
                        Violation(
                            "values_outside_categories",
                            f"column {name}: {count} value(s) outside the categories "
                            f"{list(feature.categories or ())}, e.g. {_quote(examples)}",
                        )
                    )
            ratio = self._nulls[name] / n
            if ratio > feature.max_null_ratio:
                out.append(
                    Violation(
                        "too_many_missing_values",
                        f"column {name}: {ratio:.1%} missing values, more than the allowed "
                        f"{feature.max_null_ratio:.1%}",
                    )
                )
            if name in self._low:
                count, smallest = self._low[name]
                out.append(
                    Violation(
                        "values_below_minimum",
                        f"column {name}: {count} value(s) below the minimum {feature.min:g} "
                        f"(smallest {smallest:g})",
                    )
                )
            if name in self._high:
                count, largest = self._high[name]
                out.append(
                    Violation(
                        "values_above_maximum",
                        f"column {name}: {count} value(s) above the maximum {feature.max:g} "
                        f"(largest {largest:g})",
                    )
                )
        return out + self._target_violations()

    def _target_violations(self) -> list[Violation]:
        name, out = self.schema.target, []
        if self._nulls[name]:
            out.append(
                Violation("missing_target", f"target {name}: {self._nulls[name]} missing value(s)")
            )
        if name in self._bad:
            count, examples = self._bad[name]
            if self.schema.problem_type == "regression":
                message = f"target {name}: {count} non-numeric value(s), e.g. {_quote(examples)}"
                out.append(Violation("non_numeric_target", message))
            else:
                message = (
                    f"target {name}: {count} value(s) outside the classes "
                    f"{list(self.schema.classes or ())}, e.g. {_quote(examples)}"
                )
                out.append(Violation("values_outside_classes", message))
        return out


def _run_report(
    verdicts: list[ObjectVerdict],
    hashes: list[np.ndarray],
    classes: Counter,
    schema: DatasetSchema,
) -> ValidationReport:
    """What the accepted objects make together: enough rows, few duplicates, two classes."""
    violations = [m for v in verdicts for m in v.messages()]
    warnings = [w for v in verdicts for w in v.warnings]
    accepted = [v for v in verdicts if v.accepted]
    n = sum(v.rows for v in accepted)
    run: list[str] = []
    if n < schema.min_rows:
        rejected = [str(v.object) for v in verdicts if not v.accepted]
        note = f"; rejected: {', '.join(rejected)}" if rejected else ""
        run.append(
            f"{n} rows in {len(accepted)} accepted object(s), fewer than the minimum of "
            f"{schema.min_rows} (dataset.min_rows){note}"
        )
    if n:
        # Sorted in place, equal neighbours are the duplicates: 8 bytes a row, plus one for
        # the comparison. 64-bit hashes: a collision among 100 million rows has odds below
        # 1 in 3,000.
        all_hashes = np.concatenate(hashes)
        hashes.clear()
        all_hashes.sort()
        duplicate_ratio = np.count_nonzero(all_hashes[1:] == all_hashes[:-1]) / n
        if duplicate_ratio > schema.max_duplicate_ratio:
            run.append(
                f"{duplicate_ratio:.1%} duplicate rows, more than the allowed "
                f"{schema.max_duplicate_ratio:.1%}"
            )
    if schema.problem_type == "classification" and len(classes) == 1:
        (only,) = classes
        run.append(f"target {schema.target}: a single class ({only!r}), nothing to learn")
    return ValidationReport(not run, n, verdicts, violations + run, warnings)


def _tally(store: dict[str, list], column: str, values) -> None:
    values = list(values)
    if not values:
        return
    entry = store.setdefault(column, [0, []])
    entry[0] += len(values)
    for v in values:
        if len(entry[1]) >= _EXAMPLES:
            break
        if str(v) not in entry[1]:
            entry[1].append(str(v))


def _extreme(store: dict[str, list], column: str, col: pa.Array, beyond: pa.Array, kind) -> None:
    count = pc.sum(beyond).as_py() or 0
    if not count:
        return
    value = pc.min_max(col.filter(beyond))[kind].as_py()
    entry = store.setdefault(column, [0, value])
    entry[0] += count
    entry[1] = min(entry[1], value) if kind == "min" else max(entry[1], value)


def _outside(col: pa.Array, allowed: Sequence[str]) -> list[str]:
    """The present values of a text column that are not among `allowed` (few, when any)."""
    inside = pc.is_in(col, value_set=pa.array(list(allowed), pa.string()))
    return col.filter(pc.and_(pc.invert(inside), pc.is_valid(col))).to_pylist()


def _row_hashes(data: pa.RecordBatch) -> np.ndarray:
    """A 64-bit hash of each row. Text columns go to pandas as categoricals, which pandas
    hashes by their values (so equal rows hash alike in every batch) at the cost of one hash
    per distinct value."""
    columns = {}
    for name, col in zip(data.schema.names, data.columns, strict=True):
        if pa.types.is_floating(col.type):
            columns[name] = col.to_numpy(zero_copy_only=False)
        else:
            columns[name] = col.dictionary_encode().to_pandas()
    return pd.util.hash_pandas_object(pd.DataFrame(columns), index=False).to_numpy()


def _quote(examples: list[str]) -> str:
    return ", ".join(repr(v) for v in examples)
