"""drift_retrain: drift alarm or schedule -> one retrain, within cooldown and daily cap."""
