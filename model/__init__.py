"""icu_predict's Python side: synthetic cohort, loaders, training, validation, deployment."""
