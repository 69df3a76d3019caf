"""Wrong answer to exercise 03: "the LR is already set when the iteration starts", at both priorities."""
PREDICTION_HIGHEST = [0.1, 0.1, 0.01, 0.01]
PREDICTION_LOWEST = [0.1, 0.1, 0.01, 0.01]
PREDICTION_BY_EPOCH = [0.1, 0.1, 0.01, 0.01]
