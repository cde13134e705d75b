# (in progress)
