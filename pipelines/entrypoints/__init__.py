"""Container entry scripts: parse arguments, read and write under /opt/ml, call `steps`.

Every path has a SageMaker default and an argument (or the SM_* variable) to override it, so
the same script runs in a container, in the local runtime, or in a test's temp folder.
"""
