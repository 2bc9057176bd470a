"""Code shared by the Lambda functions: observability, settings, AWS clients, training runs."""
