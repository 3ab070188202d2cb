"""fastai training CLI, evaluation and the background job runner (no UI code)."""
