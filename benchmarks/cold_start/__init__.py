"""Cold start of each Lambda handler module, next to `boto3.client("s3")` as the baseline."""
