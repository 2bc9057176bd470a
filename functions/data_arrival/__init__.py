"""data_arrival: S3 Object Created under incoming/ -> checks -> training run or quarantine."""
