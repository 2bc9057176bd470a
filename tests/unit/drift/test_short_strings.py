"""Short strings counted as 64-bit words give exactly pyarrow's counts, or step aside."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipelines.drift.categorical import CategoryCounts
from pipelines.drift.short_strings import MAX_KEYS, WordCounter

ALPHABET = list("abcxyz019_-") + ["é", "ß", "日", "🙂"]


def _strings(rng: np.random.Generator, n: int, max_chars: int = 4) -> list[str | None]:
    """n draws (5% nulls) from a vocabulary of 150 strings of 0..max_chars characters."""
    vocabulary = [
        "".join(rng.choice(ALPHABET, int(rng.integers(0, max_chars + 1)))) for _ in range(150)
    ]
    picks = rng.integers(0, len(vocabulary), n)
    nulls = rng.random(n) < 0.05
    return [None if null else vocabulary[i] for i, null in zip(picks, nulls, strict=True)]


def _expected(values: list[str | None]) -> Counter:
    return Counter(v for v in values if v is not None)


def _counted(counter: WordCounter, arr: pa.Array) -> Counter:
    result = counter.count(arr)
    assert result is not None
    labels, counts = result
    return Counter(dict(zip(labels, counts, strict=True)))


@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string()])
def test_mixed_widths_nulls_unicode_and_slices_match_exact_counts(arrow_type: pa.DataType) -> None:
    rng = np.random.default_rng(3)
    values = [v for v in _strings(rng, 5000) if v is None or len(v.encode()) <= 8]
    arr = pa.array(values, type=arrow_type)
    counter = WordCounter()
    assert _counted(counter, arr) == _expected(values)
    # a slice starts at a non-zero offset in the same buffers
    assert _counted(counter, arr.slice(1234, 2000)) == _expected(values[1234:3234])


def test_fixed_width_codes_match_exact_counts_across_chunks() -> None:
    rng = np.random.default_rng(4)
    codes = [f"c{i:03d}" for i in range(40)]
    counter = WordCounter()
    for chunk in range(3):
        # later chunks bring categories the earlier ones did not have
        values = list(rng.choice(codes[: 10 + 15 * chunk], 3000))
        assert _counted(counter, pa.array(values)) == _expected(values)


@pytest.mark.parametrize("width", range(1, 9))
@pytest.mark.parametrize("n", [1, 2, 3, 9, 50])
def test_every_width_and_the_last_rows_of_the_buffer(width: int, n: int) -> None:
    # the last rows are read from a padded copy of the tail: each length, each short count
    values = [chr(ord("a") + i % 3) * width for i in range(n)]
    assert _counted(WordCounter(), pa.array(values)) == _expected(values)
    mixed = [v[: 1 + i % width] for i, v in enumerate(values)]
    assert _counted(WordCounter(), pa.array(mixed)) == _expected(mixed)


def test_empty_strings_and_empty_arrays() -> None:
    counter = WordCounter()
    assert _counted(counter, pa.array(["", "", None, ""])) == Counter({"": 3})
    assert _counted(counter, pa.array(["", "a", "ab"])) == Counter({"": 1, "a": 1, "ab": 1})
    assert counter.count(pa.array([], type=pa.string())) == ([], [])


@pytest.mark.parametrize(
    "values",
    [
        ["short", "a string longer than eight bytes"],
        ["ok", "a\x00"],  # "a" and "a\0" would be one word
        ["日本語"],  # 9 bytes in UTF-8
    ],
)
def test_strings_it_cannot_pack_step_aside(values: list[str]) -> None:
    counter = WordCounter()
    assert counter.count(pa.array(values)) is None
    assert counter.disabled  # the column stays on pyarrow from then on


def test_too_many_distinct_values_step_aside() -> None:
    counter = WordCounter()
    assert counter.count(pa.array([f"v{i}" for i in range(MAX_KEYS + 1)])) is None
    assert counter.disabled


def test_non_string_arrays_are_not_taken() -> None:
    assert WordCounter().count(pa.array([1, 2, 3])) is None


def test_category_counts_agree_with_and_without_words() -> None:
    rng = np.random.default_rng(5)
    chunks = [
        pd.Series(_strings(rng, 2000, max_chars=3), dtype="str"),
        pd.Series(_strings(rng, 2000, max_chars=6), dtype="str"),  # some need the fallback
    ]
    fast, slow = CategoryCounts(), CategoryCounts()
    slow.words.disabled = True
    for s in chunks:
        fast.update(s)
        slow.update(s)
    assert fast.to_dict() == slow.to_dict()
    expected = _expected([v for s in chunks for v in s.tolist() if isinstance(v, str)])
    assert fast.counts == dict(expected)


def test_a_chunk_that_steps_aside_does_not_count_the_earlier_chunks_twice() -> None:
    # the first arrow chunk packs, the second does not: the whole column goes to pyarrow once
    chunked = pa.chunked_array([["a", "b", "a"], ["a", "longer than eight"]], pa.large_string())
    counts = CategoryCounts()
    counts.update(pd.Series(pd.arrays.ArrowStringArray(chunked)))
    assert counts.counts == {"a": 3, "b": 1, "longer than eight": 1}
    assert counts.words.disabled
