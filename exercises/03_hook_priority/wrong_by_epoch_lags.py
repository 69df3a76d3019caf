"""Wrong answer to exercise 03: right for by_epoch=False, but expects the epoch-based LR to
lag one iteration too (it is set in before_train_epoch, before every before_train_iter)."""
PREDICTION_HIGHEST = [0.1, 0.1, 0.1, 0.01]
PREDICTION_LOWEST = [0.1, 0.1, 0.01, 0.01]
PREDICTION_BY_EPOCH = [0.1, 0.1, 0.1, 0.01]
