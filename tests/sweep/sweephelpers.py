"""Shared by the sweep tests: an executor that stops a run as a Ctrl-C would."""

from hwsim.sweep.executors import SerialExecutor


class Interrupted(SerialExecutor):
    """Serial, but the run stops (as a Ctrl-C would) after ``after`` chunks."""

    def __init__(self, after):
        self.after = after

    def run(self, task, context, chunks):
        for i, item in enumerate(super().run(task, context, chunks)):
            if i == self.after:
                raise KeyboardInterrupt
            yield item
