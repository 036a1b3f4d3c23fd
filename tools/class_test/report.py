"""The class test's table and checks."""

from __future__ import annotations

from tools.class_test.common import BUSY, MEANINGLESS
from tools.class_test.sampler import Sampler, Usage
from tools.class_test.student import NotebookRun


def report(results: dict[str, list[NotebookRun]], sampler: Sampler, args) -> list[tuple[str, bool]]:
    """Print a row per student and notebook (peaks while it ran) and a row per student (its
    peaks over the whole class), then the lessons' warnings; return the checks."""
    head = (f"{'student':<10} {'notebook':<30} {'ok':>3} {'cells':>5} {'seconds':>7} {'peak RSS':>9} "
            f"{'threads':>7} {'pids':>5} {'fds':>5} {'procs':>5} {'busy':>4}")
    print(head)
    print("-" * len(head))

    def row(user: str, what: str, ok: str, cells: int, seconds: float, peak: Usage, busy: int) -> None:
        print(f"{user:<10} {what:<30} {ok:>3} {cells:>5} {seconds:>7.0f} {peak.rss / 2**20:>6.0f} MB "
              f"{peak.threads:>7} {peak.pids:>5} {peak.fds:>5} {peak.processes:>5} {busy:>4}")

    for user, runs in results.items():
        for run in runs:
            row(user, run.notebook, "yes" if run.passed else "NO", run.cells, run.seconds,
                sampler.peak_by_notebook.get((user, run.notebook), Usage()), run.busy)
        row(user, "(all, at once)", f"{sum(r.passed for r in runs)}/{len(runs)}", sum(r.cells for r in runs),
            sum(r.seconds for r in runs), sampler.peak[user], sum(r.busy for r in runs))
    warned = sorted({f"{run.notebook} {line}" for runs in results.values() for run in runs for line in run.warnings})
    if warned:
        print("What the lessons warned (the same line from several students is shown once):")
        for line in warned:
            print(f"  {line[:300]}")
    runs = [run for user_runs in results.values() for run in user_runs]
    expected = {"nofile": args.nofile, "pids_max": args.pids, "escala": float(args.escala)}
    off = [f"{run.notebook}: {run.limits}" for run in runs
           if any(run.limits.get(key) != value for key, value in expected.items())]
    failed = [f"{user} {run.notebook}: {run.error}" for user, rs in results.items() for run in rs if not run.passed]
    meaningless = sum(run.meaningless for run in runs)
    busy = sum(run.busy for run in runs)
    print(f"busy: {busy} timing comparisons printed '{BUSY}' instead of asserting (other programs, "
          "the other students among them, kept the CPU busy); every other timing claim was asserted")
    return [
        (f"every kernel ran under the limits imposed ({expected})" + (f"; not: {off}" if off else ""), not off),
        (f"{len(runs) - len(failed)} of {len(runs)} notebook runs passed" + (f"; failed: {failed}" if failed else ""),
         not failed),
        (f"{meaningless} measurements too small to mean anything ('{MEANINGLESS}')", meaningless == 0),
    ]
