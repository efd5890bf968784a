"""Glacier's Spark runner: runs one Glacier Spark job (src/backends/spark/job.ts) on the Spark it runs in.

Usage (through spark-submit, or as an EMR Serverless entry point):

    runner.py JOB [--result URI]

or, as a Spark Connect client that runs every job of one pipeline run in one session:

    runner.py --serve sc://HOST:PORT

JOB is a job file's path, an ``s3://`` URI of one, or the job's JSON itself. The runner registers
each input as the temporary view the job names, with the declared column types, runs the job's
one SQL query, checks the result's columns and types against the declared output, and writes the
result as ONE file in the output's format to exactly ``output.uri``. When the job has
``checks`` (the target bucket's quality checks, compiled to SQL), the runner reads the file it
wrote back as a view, runs them, and adds their results as ``checks``; when a check of severity
``error`` failed it does not place the file (nothing is published). Its last line on stdout is
one JSON object: ``{"rows", "bytes", "content", "seconds", "checks"?}`` on success (``content``:
``sha256:HEX`` of exactly the bytes placed at ``output.uri``), ``{"error", "type"}`` on
failure (with Spark's own message, a few lines, not a JVM trace), and it then exits with status
1. With ``--result URI`` the same object is also written to that URI (EMR Serverless keeps no
stdout that a caller can read back).

A batch (``{"glacier": 1, "task": NAME, "units": [{"job": JOB, "after": [I, ...]}, ...]}``,
src/backends/spark/job.ts) runs its jobs one after another in the same session, each as a job
alone runs, and each ending on its own: a unit that fails does not stop the others, and a unit
whose ``after`` names an earlier unit that failed (it reads that unit's output) does not run.
Its answer is ``{"rows", "bytes", "seconds", "units": [ANSWER, ...]}``: the totals, and each
unit's own answer in order; the runner then exits with status 0.

With ``--serve``, the runner opens one Spark Connect session and reads requests from stdin, one JSON
object a line: ``{"id", "job"}`` runs a job (several may run at once, each on its own thread; jobs
of the same task wait for one another, since they name the same views), ``{"interrupt": id}``
stops one. It answers on stdout, one JSON object a line: first ``{"ready": true, "ui", "version"}``
(or ``{"ready": false, "error"}``), then per job ``{"id", "event": "queued" | "running"}`` and its
outcome, ``{"id", "rows", "bytes", "content", "seconds"}`` or ``{"id", "error", "type"}`` (for a batch, with
its ``units``; each unit waits for other jobs of its task). When stdin ends it releases the
session and exits.

How data reaches Spark, chosen once per job:

* ``direct``: Spark's Hadoop has a FileSystem for the ``s3`` scheme (EMRFS on EMR Serverless, or
  a self-managed Spark configured with hadoop-aws as ``spark.hadoop.fs.s3.impl``). Spark reads the
  inputs from S3 itself, writes its output under ``.glacier/scratch/<id>/`` in the output's
  bucket, and the driver renames the one part file to ``output.uri`` and removes the scratch.
* ``staged``: Spark cannot read ``s3://`` (pip's pyspark ships no S3 connector). The driver
  downloads each input with boto3 into a local scratch directory, Spark reads and writes local
  files, and the driver uploads the one output file with boto3. boto3 takes the standard AWS
  configuration: ``AWS_ENDPOINT_URL_S3`` (else ``AWS_ENDPOINT_URL``) for S3-compatible servers,
  addressed path-style, credentials from the usual chain. The driver and the executors must share
  a filesystem: ``local[N]``, or a standalone cluster on one host (the local stack).

``GLACIER_SPARK_IO=direct`` or ``staged`` overrides the choice. Local paths (no scheme, or
``file:``) are read and written in place, in either mode.

Arrow IPC has no Spark reader or writer: an IPC input is converted to Parquet with pyarrow first,
and an IPC output is written as Parquet by Spark and converted by the driver.
"""

import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import uuid

EXIT_FAILED = 1

# The job of a generated entry point (`artifacts/<task>.py`), as JSON text; None in the runner.
EMBEDDED_JOB = None

# Where, in direct mode, Spark writes its part files before the driver moves the one it wrote
# to the output's key: inside the output's bucket, under Glacier's own prefix.
SCRATCH_PREFIX = ".glacier/scratch/"

# A CSV null marker no real field holds: empty unquoted fields are null, quoted ones are "".
NO_NULL_TEXT = "\u0000glacier:no-null-marker\u0000"

# Error classes that only wrap the error that matters.
WRAPPERS = {"TASK_WRITE_FAILED", "FAILED_READ_FILE", "FAILED_READ_FILE.NO_HINT"}


class JobError(Exception):
    """A failure the runner explains itself; `kind` names the Glacier error family."""

    def __init__(self, message, kind="TaskError"):
        super().__init__(message)
        self.kind = kind


def main(argv):
    """Runs the job named on the command line, or the embedded one; returns the exit status."""
    started = time.time()
    options = {}
    positional = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg in ("--result", "--pipeline", "--task", "--serve", "--bind"):
            if not args:
                print(f"runner.py: {arg} needs a value", file=sys.stderr)
                return 2
            options[arg[2:]] = args.pop(0)
        else:
            positional.append(arg)
    if "serve" in options:
        return serve(options["serve"])
    if len(positional) > 1 or (not positional and EMBEDDED_JOB is None):
        print("usage: runner.py JOB [--result URI]  (JOB: a file, an s3:// URI, or JSON)\n"
              "       runner.py --serve sc://HOST:PORT  (jobs on stdin, one Spark Connect session)\n"
              "       an entry point with an embedded job: [--pipeline P] [--task T] "
              "[--result URI] [--bind JSON]", file=sys.stderr)
        return 2
    source = positional[0] if positional else EMBEDDED_JOB
    result_uri = options.get("result")
    spark = None
    io = None
    copies = None
    task = "?"
    try:
        from pyspark import SparkConf, SparkContext
        from pyspark.sql import SparkSession

        SparkContext._ensure_initialized()  # the JVM, so that SparkConf holds spark-submit's
        conf = SparkConf()
        if not s3_connector(conf):
            copies = LocalCopies()
            copies.fetch(early_inputs(source, options.get("bind")))
        builder = SparkSession.builder
        if not conf.contains("spark.app.name"):
            # The name spark-submit's --name or EMR Serverless gave the application stands.
            builder = builder.appName("glacier")
        spark = (
            builder.config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("WARN")
        io = Storage(spark, copies=copies)
        job = load_job(source, io)
        if "bind" in options:
            bind_job(job, options["bind"])
        task = job.get("task", "?")
        if "task" in options and options["task"] != task:
            raise JobError(f"this entry point runs task '{task}', not '{options['task']}'")
        if "units" in job:
            outcome = run_units(
                spark, job, lambda keep: Storage(spark, copies=copies, keep=keep, defer=True))
        else:
            spark.sparkContext.setJobDescription(f"glacier task '{task}'")
            outcome = run_job(spark, io, job)
        outcome["seconds"] = round(time.time() - started, 3)
    except JobError as error:
        outcome = {"error": io.explain(str(error)) if io else str(error), "type": error.kind}
    except Exception as error:  # noqa: BLE001 - every failure becomes one JSON line
        message = spark_message(error)
        outcome = {"error": io.explain(message) if io else message, "type": "TaskError"}
    if result_uri is not None and io is not None:
        try:
            io.put_text(json.dumps(outcome), result_uri)
        except Exception as error:  # noqa: BLE001
            print(f"glacier: could not write the result to {result_uri}: {error}",
                  file=sys.stderr)
    if io is not None:
        io.cleanup()
    if copies is not None:
        copies.cleanup()
    if spark is not None:
        spark.stop()
    if "error" in outcome:
        print(f"glacier: task '{task}' failed on Spark: {outcome['error']}", file=sys.stderr)
    print(json.dumps(outcome), flush=True)
    return EXIT_FAILED if "error" in outcome else 0


def serve(remote):
    """Runs the jobs read from stdin in one Spark Connect session; returns the exit status."""
    import threading

    lock = threading.Lock()

    def say(answer):
        with lock:
            print(json.dumps(answer), flush=True)

    try:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.remote(remote).getOrCreate()
        spark.conf.set("spark.sql.session.timeZone", "UTC")
        spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        say({"ready": True, "ui": spark_ui(spark, remote), "version": spark.version})
    except Exception as error:  # noqa: BLE001 - the caller says what to do
        say({"ready": False, "error": spark_message(error)})
        return EXIT_FAILED
    tasks = {}
    threads = {}
    interrupted = set()

    def work(request):
        ident = request["id"]
        job = request["job"]
        task = job.get("task", "?")
        started = time.time()
        if "units" in job:
            say({"id": ident, "event": "running"})
            spark.addTag(job_tag(ident))
            copies = LocalCopies()
            try:
                outcome = run_units(
                    spark, job,
                    lambda keep: Storage(spark, False, copies=copies, keep=keep, defer=True),
                    lock=lambda name: task_lock(tasks, lock, name),
                    stopped=lambda: ident in interrupted)
            except Exception as error:  # noqa: BLE001 - every failure becomes one answer
                outcome = {"error": spark_message(error), "type": "TaskError"}
            finally:
                spark.removeTag(job_tag(ident))
                copies.cleanup()
            outcome["seconds"] = round(time.time() - started, 3)
            say({"id": ident, **outcome})
            return
        io = Storage(spark, classic=False)
        with task_lock(tasks, lock, task):
            if ident in interrupted:
                say({"id": ident, "error": "interrupted before it started", "type": "TaskError"})
                return
            say({"id": ident, "event": "running"})
            spark.addTag(job_tag(ident))
            try:
                outcome = run_job(spark, io, job)
                outcome["seconds"] = round(time.time() - started, 3)
            except JobError as error:
                outcome = {"error": io.explain(str(error)), "type": error.kind}
            except Exception as error:  # noqa: BLE001 - every failure becomes one answer
                outcome = {"error": io.explain(spark_message(error)), "type": "TaskError"}
            finally:
                spark.removeTag(job_tag(ident))
                io.cleanup()
                drop_views(spark, job)
        say({"id": ident, **outcome})

    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if "interrupt" in request:
            interrupted.add(request["interrupt"])
            if request["interrupt"] in threads:
                threading.Thread(
                    target=interrupt_until_done,
                    args=(spark, request["interrupt"], threads[request["interrupt"]]),
                    daemon=True,
                ).start()
            continue
        if "units" not in request["job"] and \
                task_lock(tasks, lock, request["job"].get("task", "?")).locked():
            say({"id": request["id"], "event": "queued"})
        thread = threading.Thread(target=work, args=(request,), daemon=True)
        thread.start()
        threads[request["id"]] = thread
    for thread in threads.values():
        thread.join()
    spark.stop()
    return 0


def run_units(spark, batch, storage, lock=None, stopped=None):
    """Runs a batch's units one after another in one session, each as a job alone runs and each
    ending on its own; `storage(keep)` gives each unit its own Storage (keeping a local copy of
    its output when `keep`: a later unit reads it), `lock(task)` what a unit holds while it runs,
    `stopped()` whether the batch was interrupted. Returns the batch's answer."""
    from contextlib import nullcontext

    answers = []
    failed = set()
    uploads = {}
    read_later = {i for unit in batch["units"] for i in unit.get("after", [])}
    for index, unit in enumerate(batch["units"]):
        job = unit["job"]
        task = job.get("task", "?")
        started = time.time()
        upstream = [i for i in unit.get("after", []) if i in failed]
        if stopped is not None and stopped():
            answer = {"error": "the job was interrupted before this unit ran", "type": "TaskError"}
        elif upstream:
            answer = {"error": f"not run: unit {upstream[0]} of its job, whose output it reads, "
                      "failed", "type": "TaskError"}
        else:
            io = storage(index in read_later)
            try:
                with lock(task) if lock is not None else nullcontext():
                    if io.classic:
                        spark.sparkContext.setJobDescription(f"glacier task '{task}'")
                    answer = run_job(spark, io, job)
            except JobError as error:
                answer = {"error": io.explain(str(error)), "type": error.kind}
            except Exception as error:  # noqa: BLE001 - every failure becomes the unit's answer
                answer = {"error": io.explain(spark_message(error)), "type": "TaskError"}
            finally:
                if io.deferred is not None:
                    uploads[index] = io.deferred
                io.cleanup()
                drop_views(spark, job)
        answer["seconds"] = round(time.time() - started, 3)
        checks = answer.get("checks") or []
        if "error" in answer or any(not c["passed"] and c["severity"] == "error" for c in checks):
            failed.add(index)
        answers.append(answer)
    for index, upload in uploads.items():
        try:
            answers[index]["content"] = upload.result()
        except JobError as error:
            answers[index] = {"error": str(error), "type": error.kind,
                              "seconds": answers[index]["seconds"]}
            failed.add(index)
    for index, unit in enumerate(batch["units"]):
        # A unit that read the output of a unit whose upload failed fails with it.
        upstream = [i for i in unit.get("after", []) if i in failed]
        if upstream and index not in failed:
            answers[index] = {"error": f"unit {upstream[0]} of its job, whose output it read, "
                              "failed", "type": "TaskError", "seconds": answers[index]["seconds"]}
            failed.add(index)
    return {"rows": sum(a.get("rows", 0) for a in answers),
            "bytes": sum(a.get("bytes", 0) for a in answers), "units": answers}


def drop_views(spark, job):
    """Drops the input views a job registered."""
    for table in job.get("inputs", {}).values():
        try:
            spark.catalog.dropTempView(table["view"])
        except Exception:  # noqa: BLE001 - the session ends with the run anyway
            pass


def interrupt_until_done(spark, ident, thread):
    """Interrupts a served job's Spark operations until its thread ends: an interrupt only reaches
    the operations running when it arrives, and a job starts several one after another."""
    while thread.is_alive():
        try:
            spark.interruptTag(job_tag(ident))
        except Exception:  # noqa: BLE001 - the job may have ended meanwhile
            pass
        thread.join(0.5)


def task_lock(tasks, lock, task):
    """The lock of one task's jobs: they register the same view names."""
    import threading

    with lock:
        return tasks.setdefault(task, threading.Lock())


def job_tag(ident):
    """The Spark Connect tag of a served job, to interrupt it."""
    return f"glacier-job-{ident}"


def spark_ui(spark, remote):
    """The Spark UI of a Connect server, `http://host:port`, or None when it has none."""
    if str(spark.conf.get("spark.ui.enabled", "true")).lower() == "false":
        return None
    port = spark.conf.get("spark.ui.port", None)
    if not port:
        return None
    host = remote.split("://", 1)[-1].split("/", 1)[0].split(";", 1)[0].rsplit(":", 1)[0]
    return f"http://{host}:{port}"


def load_job(source, io):
    """The job: JSON text itself, or read from a local file or an s3:// URI."""
    text = source if source.lstrip().startswith("{") else io.read_text(source)
    where = "given inline" if source is text else f"at {source}"
    try:
        job = json.loads(text)
    except json.JSONDecodeError as error:
        raise JobError(f"the job {where} is not JSON: {error}") from error
    if job.get("glacier") != 1:
        raise JobError(f"the job {where} is not a Glacier Spark job (version 1)")
    return job


def bind_job(job, text):
    """Points the job at a deployed run's objects: `{"inputs": {NAME: URI}, "output": URI}`."""
    try:
        bind = json.loads(text)
        for name, uri in bind["inputs"].items():
            job["inputs"][name]["uri"] = uri
        job["output"]["uri"] = bind["output"]
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise JobError(f"--bind {text!r} does not bind the inputs and output of task "
                       f"'{job.get('task', '?')}': {error}") from error


def run_job(spark, io, job):
    """Registers the views, runs the query, checks and writes its result."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    task = job["task"]
    io.expect_output(job["output"]["uri"])
    for name, table in job["inputs"].items():
        try:
            frame = read_input(spark, io, task, name, table)
        except JobError:
            raise
        except Exception as error:  # noqa: BLE001 - Spark could not open the file
            raise JobError(f"input '{name}' of task '{task}' ({table['uri']}) cannot be read as "
                           f"{table['format']}: {spark_message(error)}", "StorageError") from error
        frame.createOrReplaceTempView(table["view"])
    result = spark.sql(job["sql"])
    output = job["output"]
    result = check_output(spark, task, result, output)
    observation = Observation("glacier")
    result = result.observe(observation, F.count(F.lit(1)).alias("rows"))
    local = write_output(spark, io, task, result, output)
    rows = int(observation.get["rows"])
    if not job.get("checks"):
        return dict(io.put(local, output["uri"]), rows=rows)
    written = read_input(spark, io, task, "output", dict(output, uri=local))
    checks = run_checks(spark, written, job["checks"])
    if any(not c["passed"] and c["severity"] == "error" for c in checks):
        return {"rows": rows, "bytes": 0, "checks": checks}  # nothing to publish
    return dict(io.put(local, output["uri"]), rows=rows, checks=checks)


# ---------------------------------------------------------------------------------------------
# Quality checks


def run_checks(spark, frame, checks):
    """Runs a job's compiled quality checks (src/backends/spark/checks_sql.ts) on its written
    output: one query of counts, then, for each check that failed, one query of up to five
    failing rows. Returns one result per check, as Glacier's CheckResult has them."""
    frame.createOrReplaceTempView(checks["view"])
    counts = spark.sql(checks["counts"]).collect()[0].asDict()
    results = []
    # Parquet's page index (column index) of a float column holding NaN makes parquet-mr skip
    # pages with matching rows when a comparison is pushed down; the counts push nothing (their
    # conditions sit inside aggregates), the sample queries would.
    pushdown = spark.conf.get("spark.sql.parquet.filterPushdown")
    spark.conf.set("spark.sql.parquet.filterPushdown", "false")
    try:
        for check in checks["checks"]:
            passed = bool(counts[check["passed"]])
            sample = []
            if not passed and check.get("sample"):
                sample = [plain_row(r.asDict()) for r in spark.sql(check["sample"]).collect()]
            results.append({"name": check["name"], "bucket": check["bucket"],
                            "severity": check["severity"], "passed": passed,
                            "failingRows": int(counts[check["failing"]] or 0), "sample": sample})
    finally:
        spark.conf.set("spark.sql.parquet.filterPushdown", pushdown)
    return results


def plain_row(row):
    """A failing row as plain JSON, written as polars' side writes it: dates as 2026-01-31,
    datetimes as ISO 8601 in UTC with milliseconds, NaN and infinities as text."""
    import datetime
    import decimal
    import math

    def plain(value):
        if isinstance(value, datetime.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            return value.isoformat(timespec="milliseconds") + "Z"
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, decimal.Decimal):
            return float(value)
        if isinstance(value, float) and not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        if isinstance(value, list):
            return [plain(v) for v in value]
        if hasattr(value, "asDict"):
            return {k: plain(v) for k, v in value.asDict().items()}
        return value

    return {name: plain(value) for name, value in row.items()}


# ---------------------------------------------------------------------------------------------
# Types


def parse_type(spark, text):
    """A Spark DataType from its SQL name (`BIGINT`, `ARRAY<STRING>`, ...)."""
    from pyspark.sql.types import _parse_datatype_string

    return _parse_datatype_string(text)


def type_name(data_type):
    """A type as the job names types: `BIGINT`, `ARRAY<STRING>`, `STRUCT<a: BIGINT>`."""
    return data_type.simpleString().upper()


def same_type(a, b):
    """Whether two types are equal, nullability aside."""
    return a.simpleString() == b.simpleString()


def widens(found, declared):
    """Whether a stored column reads as the declared type without loss: a wider integer or
    float, or a timestamp of the other kind (the session's time zone is UTC)."""
    from pyspark.sql.types import (ByteType, DoubleType, FloatType, IntegerType, LongType,
                                   ShortType, TimestampNTZType, TimestampType)

    for ladder in ((ByteType, ShortType, IntegerType, LongType), (FloatType, DoubleType)):
        rank = {kind: i for i, kind in enumerate(ladder)}
        if type(found) in rank and type(declared) in rank:
            return rank[type(found)] <= rank[type(declared)]
    times = (TimestampType, TimestampNTZType)
    return isinstance(found, times) and isinstance(declared, times)


def declared_schema(spark, table):
    """The declared columns as a StructType."""
    from pyspark.sql.types import StructField, StructType

    return StructType([StructField(name, parse_type(spark, kind), True)
                       for name, kind in table["columns"]])


# ---------------------------------------------------------------------------------------------
# Inputs


def read_input(spark, io, task, name, table):
    """A frame of one input with exactly its declared columns and types, in order."""
    from pyspark.sql import functions as F

    if "parts" in table:
        return read_parts(spark, io, task, name, table)
    fmt = table["format"]
    uri = table["uri"]
    declared = declared_schema(spark, table)
    where = f"input '{name}' of task '{task}' ({uri})"
    if fmt == "ipc":
        path = io.readable(uri, convert=ipc_to_parquet)
        frame = spark.read.parquet(path)
    elif fmt == "parquet":
        frame = spark.read.parquet(io.readable(uri))
    elif fmt == "csv":
        path = io.readable(uri)
        csv = table.get("csv") or {}
        has_header = csv.get("header", True)
        names = [f.name for f in declared.fields]
        header = csv_header(spark, path, csv) if has_header else names
        unknown = [c for c in header if c not in names]
        if unknown:
            raise JobError(f"{where}: the CSV header has column "
                           + ", ".join(f"'{c}'" for c in unknown)
                           + " that the schema does not declare", "SchemaMismatchError")
        from pyspark.sql.types import StructField, StructType

        kinds = {f.name: f.dataType for f in declared.fields}
        schema = StructType([StructField(c, kinds[c], True) for c in header])
        # Glacier's CSV (polars') writes null as an empty field and "" as a quoted empty one;
        # Spark reads both as nullValue unless nullValue is something no field holds.
        reader = csv_options(spark.read.schema(schema), csv)
        frame = (reader.option("multiLine", True).option("mode", "FAILFAST")
                 .option("nullValue", csv.get("nullValue", NO_NULL_TEXT))
                 .option("emptyValue", "").csv(path))
    elif fmt == "ndjson":
        frame = spark.read.schema(declared).option("mode", "FAILFAST").json(io.readable(uri))
    else:
        raise JobError(f"{where} has format '{fmt}', which the Spark runner cannot read",
                       "UnsupportedError")
    found = {f.name: f.dataType for f in frame.schema.fields}
    columns = []
    for field in declared.fields:
        if field.name not in found:
            raise JobError(f"{where} lacks column '{field.name}' that the task reads",
                           "SchemaMismatchError")
        kind = found[field.name]
        if same_type(kind, field.dataType):
            columns.append(F.col(f"`{field.name}`"))
        elif widens(kind, field.dataType):
            columns.append(F.col(f"`{field.name}`").cast(field.dataType).alias(field.name))
        else:
            raise JobError(
                f"column '{field.name}' is {type_name(kind)} in {where} but the task reads it "
                f"as {type_name(field.dataType)}", "SchemaMismatchError")
    return frame.select(*columns)


def read_parts(spark, io, task, name, table):
    """An input read by partitions: each partition's file in turn (one view, rows in file order),
    with the keys the task reads as STRING columns holding the partition's values."""
    from functools import reduce

    from pyspark.sql import functions as F

    keys = table.get("keys") or []
    stored = {k: v for k, v in table.items() if k not in ("parts", "keys")}
    stored["columns"] = [c for c in table["columns"] if c[0] not in keys]
    frames = []
    for part in table["parts"]:
        frame = read_input(spark, io, task, name, dict(stored, uri=part["uri"]))
        frames.append(frame.select("*", *[F.lit(part["values"][key]).cast("string").alias(key)
                                          for key in keys]))
    if not frames:
        return spark.createDataFrame([], declared_schema(spark, table))
    return reduce(lambda a, b: a.unionByName(b), frames)


def csv_header(spark, path, options):
    """The column names in a CSV file's first line, without a byte order mark."""
    import csv

    first = spark.read.text(path).limit(1).collect()
    if not first:
        return []
    line = first[0][0].lstrip("\ufeff")
    return next(csv.reader([line], delimiter=options.get("separator", ","),
                           quotechar=options.get("quote", '"')))


def csv_options(io, options):
    """A CSV reader or writer with a bucket's separator, quote, header and datetime patterns."""
    quote = options.get("quote", '"')
    io = (io.option("header", options.get("header", True))
          .option("sep", options.get("separator", ",")).option("quote", quote)
          .option("escape", quote))
    if "dateFormat" in options:
        io = io.option("dateFormat", options["dateFormat"])
    if "timestampFormat" in options:
        io = (io.option("timestampFormat", options["timestampFormat"])
              .option("timestampNTZFormat", options["timestampFormat"]))
    return io


def ipc_to_parquet(source, target):
    """Converts an Arrow IPC file to Parquet, batch by batch; view types become plain ones."""
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    with pa.memory_map(source) as stream:
        try:
            reader = ipc.open_file(stream)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
        except pa.ArrowInvalid:
            stream.seek(0)
            reader = ipc.open_stream(stream)
            batches = iter(reader)
        schema = plain_schema(reader.schema)
        with pq.ParquetWriter(target, schema) as writer:
            for batch in batches:
                writer.write_table(pa.Table.from_batches([batch]).cast(schema))


def plain_schema(schema):
    """The schema with string and binary views, and large lists, as Spark reads them."""
    import pyarrow as pa

    def plain(kind):
        if kind == pa.string_view() or kind == pa.large_string():
            return pa.string()
        if kind == pa.binary_view() or kind == pa.large_binary():
            return pa.binary()
        if pa.types.is_list(kind) or pa.types.is_large_list(kind) or \
                pa.types.is_list_view(kind) or pa.types.is_large_list_view(kind):
            return pa.list_(pa.field(kind.value_field.name, plain(kind.value_type)))
        if pa.types.is_struct(kind):
            return pa.struct([pa.field(f.name, plain(f.type), f.nullable) for f in kind])
        return kind

    return pa.schema([pa.field(f.name, plain(f.type), f.nullable) for f in schema])


# ---------------------------------------------------------------------------------------------
# Output


def check_output(spark, task, result, output):
    """The result with the declared columns in order, or a JobError naming the difference."""
    declared = declared_schema(spark, output)
    found = {f.name: f.dataType for f in result.schema.fields}
    names = [f.name for f in result.schema.fields]
    wanted = [f.name for f in declared.fields]
    if sorted(names) != sorted(wanted):
        missing = [n for n in wanted if n not in found]
        extra = [n for n in names if n not in wanted]
        parts = []
        if missing:
            parts.append("lacks " + ", ".join(f"'{n}'" for n in missing))
        if extra:
            parts.append("has extra " + ", ".join(f"'{n}'" for n in extra))
        raise JobError(
            f"the Spark result of task '{task}' {' and '.join(parts)}: it has columns "
            f"{names}, its output declares {wanted}", "SchemaMismatchError")
    for field in declared.fields:
        kind = found[field.name]
        if not same_type(kind, field.dataType):
            raise JobError(
                f"column '{field.name}' is {type_name(kind)} in the Spark result of task "
                f"'{task}' but {type_name(field.dataType)} in its declared output",
                "SchemaMismatchError")
    return result if names == wanted else result.select(*[f"`{n}`" for n in wanted])


def write_output(spark, io, task, result, output):
    """Writes the result as one file in the output's format; returns where it is.

    Parquet (and Arrow IPC, converted from Parquet) is written by every task of the query's last
    stage, and its parts joined into one file row group by row group, without decoding (in the
    driver's JVM, so classic Spark only); otherwise the result goes to one task, which writes
    one file. `coalesce(1)` would also run the stages before the write in one task."""
    fmt = output["format"]
    parts = io.scratch("parts")
    merge = io.classic and fmt in ("parquet", "ipc")
    writer = (result if merge else result.coalesce(1)).write.mode("overwrite")
    if fmt in ("parquet", "ipc"):
        writer.option("compression", "zstd").parquet(parts)
    elif fmt == "csv":
        csv = output.get("csv") or {}
        writer = (writer.option("timestampNTZFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
                  .option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX"))
        if "nullValue" in csv:
            writer = writer.option("nullValue", csv["nullValue"])
        csv_options(writer, csv).csv(parts)
    elif fmt == "ndjson":
        (writer.option("ignoreNullFields", False)
         .option("timestampNTZFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
         .option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX").json(parts))
    else:
        raise JobError(f"the output of task '{task}' has format '{fmt}', which the Spark runner "
                       "cannot write", "UnsupportedError")
    part = io.merged_part(parts) if merge else io.single_part(parts, task)
    stored = stored_schema(output)
    if part is None:
        part = empty_output(spark, io, result.schema, fmt, output.get("csv") or {}, stored)
    elif fmt == "ipc":
        local = io.local_copy(part)
        target = os.path.join(io.local_scratch(), "output.arrow")
        parquet_to_ipc(local, target, stored)
        return target
    elif fmt == "parquet" and stored is not None and needs_cast(io, part, stored):
        target = os.path.join(io.local_scratch(), "output.parquet")
        cast_parquet(io.local_copy(part), target, stored)
        return target
    return part


def stored_schema(output):
    """The Arrow schema the output's file must have (its bucket's polars dtypes), or None."""
    import pyarrow as pa

    if "arrow" not in output:
        return None
    return pa.schema([pa.field(name, arrow_type(spec)) for name, spec in output["arrow"]])


def arrow_type(spec):
    """An Arrow type from the job's description of it: an alias (`uint32`), or
    `{"list": T}`, `{"struct": [[name, T], ...]}`, `{"timestamp": unit, "tz": zone}`,
    `{"decimal": [precision, scale]}`."""
    import pyarrow as pa

    if isinstance(spec, str):
        return pa.type_for_alias(spec)
    if "list" in spec:
        return pa.list_(arrow_type(spec["list"]))
    if "struct" in spec:
        return pa.struct([pa.field(name, arrow_type(t)) for name, t in spec["struct"]])
    if "timestamp" in spec:
        return pa.timestamp(spec["timestamp"], tz=spec.get("tz"))
    return pa.decimal128(*spec["decimal"])


def needs_cast(io, part, stored):
    """Whether Spark wrote a type other than the stored one (Spark has no unsigned integers and
    writes microseconds): strings and lists of either offset width count as equal."""
    import pyarrow.parquet as pq

    written = plain_schema(pq.read_schema(io.local_copy(part)))
    return [f.type for f in written] != [f.type for f in plain_schema(stored)]


def cast_parquet(source, target, stored):
    """Rewrites a Parquet file with the stored types, row group by row group; a value that does
    not fit fails the job."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    with pq.ParquetWriter(target, stored, compression="zstd") as writer:
        for batch in parquet.iter_batches():
            writer.write_table(pa.Table.from_batches([batch]).cast(stored))


def parquet_to_ipc(source, target, stored=None):
    """Converts a Parquet file to an Arrow IPC file, row group by row group, with the stored
    types when given."""
    import pyarrow as pa
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    schema = stored if stored is not None else parquet.schema_arrow
    with ipc.new_file(target, schema) as writer:
        for batch in parquet.iter_batches():
            writer.write_table(pa.Table.from_batches([batch]).cast(schema))


def empty_output(spark, io, schema, fmt, csv_layout, stored=None):
    """A file with no rows and the result's columns, for a result Spark wrote no part of."""
    import pyarrow.ipc as ipc
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import to_arrow_schema

    target = os.path.join(io.local_scratch(), f"empty.{fmt}")
    arrow = stored if stored is not None else to_arrow_schema(schema)
    if fmt == "parquet":
        pq.write_table(arrow.empty_table(), target)
    elif fmt == "ipc":
        with ipc.new_file(target, arrow):
            pass
    elif fmt == "csv":
        import csv

        with open(target, "w", newline="") as out:
            if csv_layout.get("header", True):
                csv.writer(out, delimiter=csv_layout.get("separator", ","),
                           quotechar=csv_layout.get("quote", '"')).writerow(schema.names)
    else:
        open(target, "w").close()
    return target


# ---------------------------------------------------------------------------------------------
# Where data lives


def is_s3(uri):
    return uri.startswith("s3://") or uri.startswith("s3a://")


def local_path(uri):
    return uri[len("file://"):] if uri.startswith("file://") else uri


def split_s3(uri):
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    return bucket, key


class Storage:
    """Moves data between where the job says it is and where Spark can read and write it."""

    def __init__(self, spark, classic=True, copies=None, keep=False, defer=False):
        self.spark = spark
        # A Spark Connect session has no JVM on this side: files move with boto3 instead.
        self.classic = classic
        # The job's shared LocalCopies; `defer`: an upload to S3 goes on while the next unit runs,
        # `deferred` its Future; `keep`: the output uploaded is kept there for later units.
        self.copies = copies
        self.keep = keep
        self.defer = defer and copies is not None
        self.deferred = None
        self.direct = hadoop_reads_s3(spark, classic)
        self.mode = "direct" if self.direct else "staged"
        self._local = None
        self._remote = []
        self._s3 = None
        self._output_uri = None
        self._origins = {}

    # Local scratch: on the driver, removed at the end.
    def local_scratch(self):
        if self._local is None:
            self._local = tempfile.mkdtemp(prefix="glacier-spark-")
        return self._local

    def scratch(self, name):
        """A scratch location Spark's executors can write: beside the output, or local."""
        if self.direct and self._output_uri and is_s3(self._output_uri):
            if not self._remote:
                scheme = self._output_uri.split("://", 1)[0]
                bucket, _ = split_s3(self._output_uri)
                self._remote.append(f"{scheme}://{bucket}/{SCRATCH_PREFIX}{uuid.uuid4().hex}")
            return f"{self._remote[0]}/{name}"
        return "file://" + os.path.join(self.local_scratch(), name)

    def readable(self, uri, convert=None):
        """A path Spark can read for `uri`, converted by `convert(local, target)` if given."""
        if convert is None:
            if is_s3(uri) and self.direct:
                return uri
            return "file://" + self.local_copy(uri)
        local = self.local_copy(uri)
        target = os.path.join(self.local_scratch(), f"converted-{uuid.uuid4().hex[:8]}.parquet")
        convert(local, target)
        self._origins[target] = uri
        if self.direct and self._output_uri and is_s3(self._output_uri):
            remote = self.scratch(os.path.basename(target))
            self.hadoop_put(target, remote)
            return remote
        return "file://" + target

    def local_copy(self, uri):
        """A local file with the contents of `uri`: the file itself when it is local."""
        if not is_s3(uri) and (uri.startswith("file://") or "://" not in uri):
            return os.path.abspath(local_path(uri))
        copy = self.copies.get(uri) if self.copies is not None else None
        if copy is not None:
            self._origins[copy] = uri
            return copy
        target = os.path.join(self.local_scratch(), "in", uuid.uuid4().hex[:8],
                              os.path.basename(uri))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if is_s3(uri) and not self.direct:
            bucket, key = split_s3(uri)
            try:
                self.s3().download_file(bucket, key, target)
            except Exception as error:  # noqa: BLE001
                raise JobError(f"cannot read {uri}: {s3_message(error)}", "StorageError") from error
        else:
            self.hadoop_get(uri, target)
        self._origins[target] = uri
        return target

    def explain(self, message):
        """A message with the local copies it names replaced by where their data came from."""
        for local, uri in self._origins.items():
            message = message.replace("file://" + local, uri).replace("file:" + local, uri)
            message = message.replace(local, uri)
        return message

    def part_files(self, parts):
        """The part files Spark wrote under `parts`, in the order of the result's partitions."""
        if parts.startswith("file://"):
            directory = parts[len("file://"):]
            names = sorted(n for n in os.listdir(directory) if n.startswith("part-"))
            return [os.path.join(directory, n) for n in names]
        return self.hadoop_list(parts)

    def single_part(self, parts, task):
        """The one part file Spark wrote under `parts`, or None when it wrote none."""
        found = self.part_files(parts)
        if len(found) > 1:
            raise JobError(f"Spark wrote {len(found)} files for task '{task}', expected one")
        return found[0] if found else None

    def merged_part(self, parts):
        """The Parquet part files Spark wrote under `parts` as one file, their row groups copied
        in the parts' order (the order of the result's partitions, so a sorted result stays
        sorted); None when Spark wrote none."""
        found = self.part_files(parts)
        if len(found) <= 1:
            return found[0] if found else None
        jvm = self.spark._jvm
        parquet = jvm.org.apache.parquet.hadoop
        conf = self._conf()
        inputs = [parquet.util.HadoopInputFile.fromPath(self._path(p), conf) for p in found]
        reader = parquet.ParquetFileReader.open(inputs[0])
        try:
            footer = reader.getFooter().getFileMetaData()
        finally:
            reader.close()
        target = self.scratch("merged.parquet")
        writer = parquet.ParquetFileWriter(
            parquet.util.HadoopOutputFile.fromPath(self._path(target), conf), footer.getSchema(),
            getattr(parquet, "ParquetFileWriter$Mode").CREATE, 128 * 1024 * 1024, 0)
        writer.start()
        for part in inputs:
            writer.appendFile(part)
        writer.end(footer.getKeyValueMetaData())
        return local_path(target)

    def put(self, source, uri):
        """Places `source` (a local path, or a scratch URI) at exactly `uri`; returns its size and
        the SHA-256 of its bytes as Glacier keeps it, `{"bytes", "content": "sha256:HEX"}`."""
        if not source.startswith("file://") and "://" in source:
            return self.hadoop_move(source, uri)
        path = local_path(source)
        if is_s3(uri) and not self.direct and self.defer:
            # Its SHA-256 comes with the upload; the unit's answer waits for both.
            self.deferred = self.copies.upload(path, uri, keep=self.keep)
            return {"bytes": os.path.getsize(path)}
        placed = {"bytes": os.path.getsize(path), "content": file_sha256(path)}
        if is_s3(uri) and not self.direct:
            bucket, key = split_s3(uri)
            try:
                self.s3().upload_file(path, bucket, key)
            except Exception as error:  # noqa: BLE001
                raise JobError(f"cannot write {uri}: {s3_message(error)}", "StorageError") from error
        elif is_s3(uri):
            self.hadoop_put(path, uri)
        else:
            target = local_path(uri)
            os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
            shutil.copyfile(path, target + ".partial")
            os.replace(target + ".partial", target)
        return placed

    def put_text(self, text, uri):
        path = os.path.join(self.local_scratch(), f"text-{uuid.uuid4().hex[:8]}")
        with open(path, "w") as out:
            out.write(text)
        self.put(path, uri)

    def read_text(self, uri):
        if is_s3(uri) or (self.direct and "://" in uri and not uri.startswith("file://")):
            with open(self.local_copy(uri)) as f:
                return f.read()
        with open(local_path(uri)) as f:
            return f.read()

    def expect_output(self, uri):
        self._output_uri = uri

    def cleanup(self):
        for uri in self._remote:
            try:
                if self.classic:
                    path = self._path(uri)
                    path.getFileSystem(self._conf()).delete(path, True)
                else:
                    for key in self._s3_keys(uri):
                        self.s3().delete_object(Bucket=split_s3(uri)[0], Key=key)
            except Exception:  # noqa: BLE001 - scratch is best effort
                pass
        if self._local is not None:
            shutil.rmtree(self._local, ignore_errors=True)

    # boto3, for staged mode
    def s3(self):
        if self._s3 is None:
            self._s3 = s3_client()
        return self._s3

    # Hadoop's FileSystem, for direct mode (EMRFS on EMR)
    def _conf(self):
        return self.spark._jsc.hadoopConfiguration()

    def _path(self, uri):
        return self.spark._jvm.org.apache.hadoop.fs.Path(uri)

    def _s3_keys(self, uri):
        bucket, prefix = split_s3(uri)
        pages = self.s3().get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                    Prefix=prefix.rstrip("/") + "/")
        return sorted(o["Key"] for page in pages for o in page.get("Contents", []))

    def hadoop_get(self, uri, target):
        if not self.classic:
            bucket, key = split_s3(uri)
            self.s3().download_file(bucket, key, target)
            return
        path = self._path(uri)
        path.getFileSystem(self._conf()).copyToLocalFile(False, path, self._path(
            "file://" + target), True)

    def hadoop_put(self, source, uri):
        if not self.classic:
            bucket, key = split_s3(uri)
            self.s3().upload_file(source, bucket, key)
            return
        path = self._path(uri)
        path.getFileSystem(self._conf()).copyFromLocalFile(False, True, self._path(
            "file://" + source), path)

    def hadoop_list(self, uri):
        if not self.classic:
            scheme = uri.split("://", 1)[0]
            bucket = split_s3(uri)[0]
            return [f"{scheme}://{bucket}/{key}" for key in self._s3_keys(uri)
                    if key.rsplit("/", 1)[-1].startswith("part-")]
        path = self._path(uri)
        fs = path.getFileSystem(self._conf())
        return sorted(s.getPath().toString() for s in fs.listStatus(path)
                      if s.getPath().getName().startswith("part-"))

    def hadoop_move(self, source, uri):
        if not self.classic:
            (from_bucket, from_key), (bucket, key) = split_s3(source), split_s3(uri)
            self.s3().copy({"Bucket": from_bucket, "Key": from_key}, bucket, key)
            self.s3().delete_object(Bucket=from_bucket, Key=from_key)
            body = self.s3().get_object(Bucket=bucket, Key=key)["Body"]
            size, content = stream_sha256(body.iter_chunks(HASH_CHUNK))
            return {"bytes": size, "content": content}
        src = self._path(source)
        dst = self._path(uri)
        fs = dst.getFileSystem(self._conf())
        if fs.exists(dst):
            fs.delete(dst, False)
        if not fs.rename(src, dst):
            raise JobError(f"could not move {source} to {uri}", "StorageError")
        # Hashed where it lies, on the JVM (commons-codec ships with Spark and EMR), streaming.
        stream = fs.open(dst)
        try:
            digest = self.spark._jvm.org.apache.commons.codec.digest.DigestUtils.sha256Hex(stream)
        finally:
            stream.close()
        return {"bytes": int(fs.getFileStatus(dst).getLen()), "content": f"sha256:{digest}"}


# How much of a file is read at a time while hashing it.
HASH_CHUNK = 1 << 22


def stream_sha256(chunks):
    """The size and SHA-256 (`sha256:HEX`, as Glacier keys content) of a stream of byte chunks."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return size, f"sha256:{digest.hexdigest()}"


def file_sha256(path):
    """The SHA-256 of a local file's bytes, `sha256:HEX`, read in pieces."""
    with open(path, "rb") as f:
        return stream_sha256(iter(lambda: f.read(HASH_CHUNK), b""))[1]


def s3_client():
    """A boto3 S3 client for the environment's endpoint (path-style addressing on one)."""
    import boto3
    from botocore.config import Config

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    path_style = endpoint is not None or os.environ.get("AWS_S3_FORCE_PATH_STYLE") == "true"
    config = Config(s3={"addressing_style": "path" if path_style else "auto"},
                    retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, config=config)


class LocalCopies:
    """Local copies of S3 objects that a job's units share in staged mode: its inputs, fetched
    while Spark starts, and the outputs units place that later units of the job read, kept
    instead of fetched back. A copy that could not be had is fetched again by the unit that
    reads it, which reports the error."""

    def __init__(self):
        from concurrent.futures import ThreadPoolExecutor

        self._dir = tempfile.mkdtemp(prefix="glacier-spark-copies-")
        self._pool = ThreadPoolExecutor(max_workers=2)
        self._copies = {}
        self._client = None

    def fetch(self, uris):
        """Starts fetching the S3 objects `uris` in the background."""
        for uri in uris:
            if is_s3(uri) and uri not in self._copies:
                self._copies[uri] = self._pool.submit(self._download, uri)

    def _download(self, uri):
        if self._client is None:
            self._client = s3_client()
        bucket, key = split_s3(uri)
        target = self._target(uri)
        self._client.download_file(bucket, key, target)
        return target

    def _target(self, uri):
        folder = os.path.join(self._dir, uuid.uuid4().hex[:8])
        os.makedirs(folder)
        return os.path.join(folder, os.path.basename(uri))

    def upload(self, path, uri, keep):
        """Uploads a copy of the local file `path` to `uri` in the background, the copy kept for
        later units to read when `keep`, else removed once uploaded; the Future gives the
        SHA-256 of its bytes, or raises a JobError naming `uri`."""
        from concurrent.futures import Future

        copy = self._target(uri)
        try:
            os.link(path, copy)
        except OSError:
            shutil.copyfile(path, copy)
        if keep:
            self._copies[uri] = Future()
            self._copies[uri].set_result(copy)

        def place():
            try:
                content = file_sha256(copy)
                if self._client is None:
                    self._client = s3_client()
                bucket, key = split_s3(uri)
                self._client.upload_file(copy, bucket, key)
                return content
            except Exception as error:  # noqa: BLE001
                raise JobError(f"cannot write {uri}: {s3_message(error)}",
                               "StorageError") from error
            finally:
                if not keep:
                    os.remove(copy)

        return self._pool.submit(place)

    def get(self, uri):
        """The local copy of `uri`, waiting for its fetch; None when there is none."""
        copy = self._copies.get(uri)
        if copy is None:
            return None
        try:
            return copy.result()
        except Exception:  # noqa: BLE001 - the reader fetches it again and says why it failed
            del self._copies[uri]
            return None

    def cleanup(self):
        self._pool.shutdown(wait=True, cancel_futures=True)
        shutil.rmtree(self._dir, ignore_errors=True)


def job_inputs(job):
    """The URIs a job (or each unit of a batch) reads that no earlier unit of it writes: each
    input's, or each of its partitions' when it reads several."""
    written, found = set(), []
    for unit in job["units"] if "units" in job else [{"job": job}]:
        for table in unit["job"]["inputs"].values():
            uris = [part["uri"] for part in table["parts"]] if "parts" in table else [table["uri"]]
            found += [uri for uri in uris if uri not in written]
        written.add(unit["job"]["output"]["uri"])
    return list(dict.fromkeys(found))


def early_inputs(source, bind):
    """The S3 objects the job at `source` reads from outside it, known before Spark starts: none
    when the job itself is on S3 or cannot be read yet (the run reports that later)."""
    try:
        if is_s3(source):
            return []
        if source.lstrip().startswith("{"):
            job = json.loads(source)
        else:
            with open(local_path(source), encoding="utf-8") as handle:
                job = json.load(handle)
        if bind is not None:
            bind_job(job, bind)
        return job_inputs(job)
    except Exception:  # noqa: BLE001 - load_job says what is wrong with the job
        return []


def s3_connector(conf):
    """Whether this Spark's Hadoop has a FileSystem for `s3://`, asked before the session starts
    (the JVM is up): `conf` is the SparkConf spark-submit gave."""
    if os.environ.get("GLACIER_SPARK_IO") in ("direct", "staged"):
        return os.environ["GLACIER_SPARK_IO"] == "direct"
    if conf.get("spark.hadoop.fs.s3.impl") is not None:
        return True
    from pyspark import SparkContext

    jvm = SparkContext._jvm
    try:
        jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass(
            "s3", jvm.org.apache.hadoop.conf.Configuration())
        return True
    except Exception:  # noqa: BLE001 - UnsupportedFileSystemException: no connector
        return False


def hadoop_reads_s3(spark, classic=True):
    """Whether Spark's Hadoop has a FileSystem for `s3://` (EMRFS, or a configured s3a). Through
    Spark Connect, whether the server's configuration names one."""
    if os.environ.get("GLACIER_SPARK_IO") in ("direct", "staged"):
        return os.environ["GLACIER_SPARK_IO"] == "direct"
    if not classic:
        return bool(spark.conf.get("spark.hadoop.fs.s3.impl", None))
    jvm = spark._jvm
    try:
        jvm.org.apache.hadoop.fs.FileSystem.getFileSystemClass(
            "s3", spark._jsc.hadoopConfiguration())
        return True
    except Exception:  # noqa: BLE001 - UnsupportedFileSystemException: no connector
        return False


def s3_message(error):
    """boto3's error, one line: the S3 error code and message when there is one."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    return str(error).splitlines()[0] if str(error) else type(error).__name__


# ---------------------------------------------------------------------------------------------
# Errors


def spark_message(error, limit=6):
    """Spark's own message for a failure: the error that matters, a few lines, no JVM trace."""
    import re

    text = str(error)
    java = getattr(error, "java_exception", None)
    if java is not None:
        try:
            text = str(java.toString()) + "\n" + text
        except Exception:  # noqa: BLE001
            pass
    lines = [line.rstrip() for line in text.splitlines()]
    classed = re.compile(r"\[([A-Z][A-Z0-9_]*(?:\.[A-Z0-9_]+)*)\] ")
    candidates = []
    for i, line in enumerate(lines):
        match = classed.search(line)
        if match and match.group(1) not in WRAPPERS and not line.lstrip().startswith("at "):
            candidates.append(i)
    if candidates:
        start = candidates[0]
        first = lines[start]
        first = first[classed.search(first).start():]
        picked = [first]
        # Keep Spark's pointer into the query (`== SQL (line 1, position 8) ==` and the two
        # lines under it), not the plan or the trace that follow.
        rest = lines[start + 1:]
        if rest and rest[0].startswith("== SQL"):
            picked.extend(line for line in rest[:3] if line.strip())
        return "\n".join(picked[:limit]).strip()
    for line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("An error occurred while calling"):
            return re.sub(r"^: ", "", stripped)
    return type(error).__name__


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - the runner's own bug: say so, with its trace
        traceback.print_exc()
        print(json.dumps({"error": "the Glacier Spark runner failed: "
                          + traceback.format_exc().strip().splitlines()[-1],
                          "type": "TaskError"}), flush=True)
        sys.exit(EXIT_FAILED)
