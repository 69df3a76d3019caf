"""Reference solution of exercise 03.

At HIGHEST, Peek runs before the updater in each before_train_iter: it sees the value the
updater set one iteration earlier (at iteration 0, the optimizer's own lr). At LOWEST it
sees this iteration's value. With by_epoch=True both see the same values, because the
updater sets the LR in before_train_epoch, before any before_train_iter.
"""
PREDICTION_HIGHEST = [0.1, 0.1, 0.1, 0.01]
PREDICTION_LOWEST = [0.1, 0.1, 0.01, 0.01]
PREDICTION_BY_EPOCH = [0.1, 0.1, 0.01, 0.01]
