"""A step job maps S3 keys into its folder safely: S3 keys are not paths."""

from __future__ import annotations

from pathlib import Path

from conftest import unique

from emulator.pipeline_jobs import download, local_paths

LONG = "x" * 300  # a 300-byte segment: longer than any file name may be


def test_dot_dot_segments_cannot_climb_out():
    paths = local_paths(["incoming/../../../etc/passwd", "incoming/./a.csv"], "incoming/")
    for parts in paths.values():
        assert ".." not in parts and "." not in parts
    assert paths["incoming/./a.csv"] == ("%2E", "a.csv")


def test_a_key_that_is_also_a_folder_keeps_both():
    paths = local_paths(["in/a", "in/a/b.csv", "in/a~object"], "in/")
    assert paths["in/a/b.csv"] == ("a", "b.csv")
    assert paths["in/a"] != paths["in/a~object"]
    assert len(set(paths.values())) == 3
    assert local_paths(["in/a", "in/a/b.csv", "in/a~object"], "in/") == paths  # deterministic


def test_long_segments_are_shortened_without_colliding():
    paths = local_paths([f"in/{LONG}a.csv", f"in/{LONG}b.csv"], "in/")
    names = [parts[-1] for parts in paths.values()]
    assert all(len(n.encode()) <= 255 for n in names) and len(set(names)) == 2


def test_download_writes_every_object_inside_the_job_folder(runtime, tmp_path: Path):
    s3 = runtime.cloud.client("s3")
    prefix = f"{unique('job')}/"
    keys = [
        f"{prefix}../../outside.csv",
        f"{prefix}a",
        f"{prefix}a/b.csv",
        f"{prefix}{LONG}.csv",
        f"{prefix}dir/",  # a folder marker, not an object to read
    ]
    for key in keys:
        s3.put_object(Bucket=runtime.artifacts_bucket, Key=key, Body=key.encode())
    job = tmp_path / "job"
    count = download(s3, f"s3://{runtime.artifacts_bucket}/{prefix}", job / "input")
    assert count == 4
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 4
    assert all(f.resolve().is_relative_to((job / "input").resolve()) for f in files)
    assert sorted(f.read_bytes().decode() for f in files) == sorted(keys[:4])
