"""pipeline_events: training run ended -> release the guard, start the follow-up, notify."""
