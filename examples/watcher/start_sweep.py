#!/usr/bin/env python3
"""Start a rigsweep sweep from Python and wait for its result: the WATCHER's way in.

The WATCHER agent used to launch a sweep through ``run_scorer_meta_optimizer.sh``, which called
the old coordinator, and then judged success by whether a result file existed. This script
replaces that coordinator call: it starts the ``trialSweep`` Temporal workflow that a running
``rigsweep worker`` executes, waits for it, and hands back the sweep's real Results JSON and an
exit code that says what happened.

    python3 start_sweep.py --trials 120
    python3 start_sweep.py --jobs-file scorer_jobs.json --preserve-paths \\
        --output-dir scorer_trial_results --workflow-id scorer-meta-round-7

What the WATCHER gets back:
  stdout       the Results JSON, nothing else (``status``, ``run_id``, ``total_jobs``,
               ``successful``, ``failed``, ``jobs`` with a ``failure_mode`` for every failed job,
               ...), so ``json.loads(stdout)`` is all it needs
  stderr       a line when the sweep starts and a one-line summary at the end (or the error)
  exit code    0 every job succeeded, 1 some job failed (or the sweep itself failed),
               2 bad usage or bad input (e.g. a jobs file that is not there; nothing ran),
               3 the sweep was cancelled, 4 the Temporal server cannot be reached

In the WATCHER, instead of the coordinator call and the file check:

    proc = subprocess.run([VENV_PYTHON, "start_sweep.py", "--jobs-file", jobs,
                           "--workflow-id", sweep_id], capture_output=True, text=True)
    if proc.returncode in (0, 1):      # the sweep ran: judge it by its result
        results = json.loads(proc.stdout)
    else:                              # 2/3/4: nothing to judge; proc.stderr says why
        ...

A workflow id names ONE sweep. Starting an id whose sweep is still running attaches to it
instead of starting a second one; starting an id whose sweep already completed returns that
sweep's result without running anything again. So the WATCHER should pass a stable
``--workflow-id`` per sweep it means: if it (or this script) dies mid-sweep, the same command
picks the sweep up again. Stopping this script (Ctrl-C, kill) never stops the sweep.

Environment: TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default),
RIGSWEEP_TASK_QUEUE (rigsweep) -- the same variables the rigsweep CLI reads.
Needs only the ``temporalio`` package (see requirements.txt next to this file).
"""
from __future__ import annotations  # keeps the annotations below valid on Python 3.9

import argparse
import asyncio
import json
import os
import sys
import traceback
from datetime import datetime, timezone
from typing import Any, Optional

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, CancelledError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

# The workflow is written in TypeScript, so there is no Python class to import: it is started by
# its registered name, and its input and result are plain JSON (dicts here).
WORKFLOW_NAME = "trialSweep"

# The same exit codes as every rigsweep command (README, "Exit codes").
EXIT_OK, EXIT_JOBS_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_UNREACHABLE = 0, 1, 2, 3, 4


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Start (or attach to) a rigsweep trialSweep and print its Results JSON.",
        epilog="Exit codes: 0 all jobs succeeded, 1 some job failed, 2 bad usage or input, "
        "3 cancelled, 4 Temporal server unreachable.",
    )
    # argparse itself exits 2 on bad usage, which is already the code we want for it.
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--trials", type=positive_int, metavar="N",
                      help="run N trials from the config's trial_command")
    what.add_argument("--jobs-file", metavar="PATH",
                      help="a SCRIPT JOB SPEC v1.0 jobs file (a path on the worker host)")
    parser.add_argument("--config", metavar="PATH",
                        help="distributed_config.json (default: the one the worker was started with)")
    parser.add_argument("--output-dir", metavar="DIR",
                        help="where results.jsonl and sweep_results.json go (default: full_scoring_results)")
    parser.add_argument("--preserve-paths", action="store_true",
                        help="leave the trials' output files where the jobs name them")
    parser.add_argument("--max-retries", type=non_negative_int, metavar="N",
                        help="extra attempts for a trial that failed to run (default: rigsweep's)")
    parser.add_argument("--workflow-id", metavar="ID",
                        help="names the sweep; the same id attaches to it (default: watcher-<what>-<UTC time>)")
    return parser.parse_args(argv)


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def sweep_input(args: argparse.Namespace) -> dict[str, Any]:
    """The workflow input: one JSON object with the camelCase keys of src/shared/sweep-input.ts."""
    # The worker reads these paths on ITS host. Files are made absolute here and the output dir
    # is sent as typed with this directory as `workingDir` (as `rigsweep run` does): a relative
    # path means the one next to the caller, which is right when the WATCHER runs on the worker
    # host (the coordinator), and a relative output dir also means that folder below each node's
    # script_path, as the seed had it. From elsewhere, pass the absolute paths of the worker host.
    data: dict[str, Any] = {}
    if args.trials is not None:
        data["trials"] = args.trials
    else:
        data["jobsFile"] = os.path.abspath(args.jobs_file)
    if args.config:
        data["configFile"] = os.path.abspath(args.config)
    if args.output_dir:
        data["outputDir"] = args.output_dir
    data["workingDir"] = os.getcwd()
    if args.preserve_paths:
        data["preservePaths"] = True
    if args.max_retries is not None:
        data["maxRetries"] = args.max_retries
    return data


def default_workflow_id(args: argparse.Namespace) -> str:
    # Readable in Temporal Web, and new for every call: a default id never attaches by accident.
    # Pass --workflow-id to get attach-on-retry.
    if args.trials is not None:
        what = f"trials-{args.trials}"
    else:
        what = os.path.basename(args.jobs_file)
        if what.lower().endswith(".json"):
            what = what[: -len(".json")]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"watcher-{what}-{stamp}"


def log(message: str) -> None:
    print(f"start_sweep: {message}", file=sys.stderr, flush=True)


def find_application_error(error: BaseException) -> Optional[ApplicationError]:
    """The ApplicationError behind a workflow failure, however deep (activity -> application)."""
    seen: Optional[BaseException] = error
    while seen is not None:
        if isinstance(seen, ApplicationError):
            return seen
        seen = seen.__cause__
    return None


async def run(args: argparse.Namespace, workflow_id: str) -> int:
    address = os.environ.get("TEMPORAL_ADDRESS") or "localhost:7233"
    namespace = os.environ.get("TEMPORAL_NAMESPACE") or "default"
    task_queue = os.environ.get("RIGSWEEP_TASK_QUEUE") or "rigsweep"

    try:
        # Client.connect checks the connection right away and raises RuntimeError when no server
        # answers; that is worth its own exit code, because the fix is to start one.
        client = await Client.connect(address, namespace=namespace)
    except RuntimeError as error:
        log(f"cannot reach the Temporal server at {address}: {error}")
        log("start one with `temporal server start-dev --db-filename temporal.db`, "
            "or set TEMPORAL_ADDRESS")
        return EXIT_UNREACHABLE

    try:
        try:
            handle = await client.start_workflow(
                WORKFLOW_NAME,
                sweep_input(args),
                id=workflow_id,
                task_queue=task_queue,
                # A sweep with this id still running: attach to it rather than fail or start a
                # second sweep on the same rigs.
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                # A sweep with this id that already completed is not run again: we return its
                # result below. One that failed, was cancelled or terminated may be
                # started again under the same id, e.g. after fixing a bad jobs file.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
            log(f"sweep {workflow_id} started (or attached) on task queue {task_queue}; waiting")
        except WorkflowAlreadyStartedError:
            handle = client.get_workflow_handle(workflow_id)
            log(f"sweep {workflow_id} already completed; returning its result")
        results: dict[str, Any] = await handle.result()
    except WorkflowFailureError as error:
        cause = find_application_error(error)
        if cause is not None and cause.type == "InputError":
            # Bad config or jobs: the plan activity rejected it before any trial started, with a
            # message naming the file and the field -- exactly what a human or agent must fix.
            log(cause.message)
            return EXIT_BAD_INPUT
        if isinstance(error.cause, CancelledError):
            log(f"sweep {workflow_id} was cancelled")
            return EXIT_CANCELLED
        log(f"sweep {workflow_id} failed: {cause.message if cause else error.cause or error}")
        return EXIT_JOBS_FAILED
    except RPCError as error:
        if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            log(f"lost the Temporal server at {address}: {error.message}; "
                f"the sweep goes on -- run the same command with --workflow-id {workflow_id} to attach")
            return EXIT_UNREACHABLE
        log(f"Temporal refused the request ({error.status.name}): {error.message}")
        return EXIT_BAD_INPUT if error.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.NOT_FOUND) else EXIT_JOBS_FAILED

    log(f"sweep {workflow_id} (run {results.get('run_id')}): {results.get('status')}, {results.get('successful')}/"
        f"{results.get('total_jobs')} jobs successful, {results.get('failed')} failed "
        f"in {results.get('runtime_seconds')}s; results in {results.get('output_dir')}")
    print(json.dumps(results, indent=2))
    return EXIT_OK if results.get("failed") == 0 else EXIT_JOBS_FAILED


def main() -> None:
    args = parse_args()
    workflow_id = args.workflow_id or default_workflow_id(args)
    try:
        code = asyncio.run(run(args, workflow_id))
    except KeyboardInterrupt:
        # Only this waiter stops; the sweep is durable and keeps running on the worker.
        log(f"stopped waiting; sweep {workflow_id} keeps running (--workflow-id {workflow_id} attaches again)")
        code = 130
    except Exception:  # a bug here or in the SDK: show it, and still exit the safe way below
        traceback.print_exc()
        code = EXIT_JOBS_FAILED
    # Exit without the interpreter's teardown. The SDK's Rust runtime threads can abort a
    # short-lived client process while Python finalizes ("Fatal Python error: PyGILState_Release",
    # temporalio/sdk-python#300; about 1 run in 10 here when several run at once), which would
    # turn a good result into SIGABRT. Everything is printed by now; flush it and leave.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
