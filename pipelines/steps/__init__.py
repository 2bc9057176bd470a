"""The pipeline steps as plain functions: data in, data out, no AWS.

The entry scripts in `pipelines.entrypoints` do the container I/O and call these.
"""
