"""Wrong answer to exercise 03: HIGHEST and LOWEST swapped (a larger number is not "more important")."""
PREDICTION_HIGHEST = [0.1, 0.1, 0.01, 0.01]
PREDICTION_LOWEST = [0.1, 0.1, 0.1, 0.01]
PREDICTION_BY_EPOCH = [0.1, 0.1, 0.01, 0.01]
