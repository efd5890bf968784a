"""The benchmark pipeline (clean -> join -> aggregate) hand-written in PySpark.

The same three steps as bench/_variants.ts, written the way a Spark user would write them with
the DataFrame API, each materialized as Parquet (zstd, as Glacier's runner and polars write it).
Submitted by bench/spark_pipeline.ts with the same spark-submit options Glacier uses.

    _spark_handwritten.py --steps clean,join,aggregate --orders IN --customers IN \
        --cleaned OUT --joined OUT --revenue OUT [--io local|s3] [--write parts|single]

--steps     the steps this submit runs, in order (one submit for all, or one per step).
--io        local: every path is a local path. s3: every path is an s3://bucket/key URI; the
            driver downloads each input with boto3 into a scratch directory, Spark reads and
            writes local files, and the driver uploads each output with boto3: what Glacier's
            runner does in its "staged" mode, with the same boto3 settings.
--write     parts: Spark's own layout, a directory of part files written by every task (what a
            Spark user writes). single: one file at exactly the path (coalesce(1), then the one
            part file is moved or uploaded), the shape Glacier's runner writes for a bucket
            through Spark Connect (on spark-submit it joins Parquet part files instead).

The last line on stdout is one JSON object with the seconds of each phase, measured in the driver:
``session`` (SparkSession start), then per step ``download``, ``sql`` (the query and its write),
``upload``, and ``seconds`` from the start of this script.

With ``--explain JOB`` it runs nothing: JOB is a Glacier Spark job file of the join step (inputs
bound to local files). It registers the job's views exactly as Glacier's runner does (importing
src/backends/spark/runner.py), and prints as JSON the physical plans of the compiled SQL, of the same
query as the runner writes it on spark-submit (columns checked, rows observed), and of the
hand-written join, each from ``EXPLAIN FORMATTED``.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid

STARTED = time.time()
STATUSES = ["paid", "shipped"]


def clean_orders(orders):
    """Step 1: orders with a positive amount and a paid or shipped status, amounts in cents."""
    from pyspark.sql import functions as F

    amount = F.col("amount")
    return orders.where(amount.isNotNull() & (amount > 0) & F.col("status").isin(STATUSES)).select(
        "order_id",
        "customer_id",
        # bround: half to even, as polars rounds.
        F.bround(amount * 100, 0).cast("bigint").alias("amount_cents"),
        "status",
    )


def join_customers(cleaned, customers):
    """Step 2: each order with its customer's region and segment (polars' column order)."""
    return cleaned.join(customers, "customer_id").select(
        "order_id", "customer_id", "amount_cents", "status", "region", "segment")


def revenue_by_region(joined):
    """Step 3: orders and revenue per region and segment."""
    from pyspark.sql import functions as F

    return joined.groupBy("region", "segment").agg(
        F.count(F.lit(1)).alias("orders"),
        F.sum("amount_cents").alias("revenue_cents"),
    )


class Io:
    """Local paths, or S3 objects staged through a local scratch directory with boto3."""

    def __init__(self, mode):
        self.mode = mode
        self.scratch = tempfile.mkdtemp(prefix="bench-spark-handwritten-")
        self.local = {}
        self._s3 = None

    def s3(self):
        # The runner's client: AWS_ENDPOINT_URL_S3, path-style, standard retries.
        if self._s3 is None:
            import boto3
            from botocore.config import Config

            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            config = Config(s3={"addressing_style": "path" if endpoint else "auto"},
                            retries={"max_attempts": 3, "mode": "standard"})
            self._s3 = boto3.client("s3", endpoint_url=endpoint, config=config)
        return self._s3

    def readable(self, uri):
        """A local path Spark reads for `uri`; an S3 object or prefix is downloaded first."""
        if self.mode == "local":
            return uri
        if uri in self.local:
            return self.local[uri]
        bucket, key = split_s3(uri)
        target = os.path.join(self.scratch, "in", uuid.uuid4().hex[:8])
        if key.endswith("/"):
            os.makedirs(target)
            listed = self.s3().list_objects_v2(Bucket=bucket, Prefix=key)
            for item in listed.get("Contents", []):
                name = item["Key"][len(key):]
                self.s3().download_file(bucket, item["Key"], os.path.join(target, name))
        else:
            os.makedirs(target)
            target = os.path.join(target, os.path.basename(key))
            self.s3().download_file(bucket, key, target)
        self.local[uri] = target
        return target

    def writable(self, uri):
        """A local path Spark writes for `uri` (a directory of parts, or one file)."""
        if self.mode == "local":
            return uri
        return os.path.join(self.scratch, "out", uuid.uuid4().hex[:8], os.path.basename(
            uri.rstrip("/")))

    def publish(self, local, uri):
        """Uploads what Spark wrote at `local` to `uri` (S3 only); later steps read `local`."""
        if self.mode == "local":
            return
        bucket, key = split_s3(uri)
        if os.path.isdir(local):
            for name in sorted(os.listdir(local)):
                if name.startswith("part-"):
                    self.s3().upload_file(os.path.join(local, name), bucket, key + name)
        else:
            self.s3().upload_file(local, bucket, key)
        self.local[uri] = local

    def close(self):
        shutil.rmtree(self.scratch, ignore_errors=True)


def split_s3(uri):
    bucket, _, key = uri.split("://", 1)[1].partition("/")
    return bucket, key


def write(frame, path, shape):
    """Writes `frame` as zstd Parquet: a directory of parts, or exactly one file at `path`."""
    if shape == "parts":
        frame.write.mode("overwrite").option("compression", "zstd").parquet(path)
        return
    parts = path + ".parts"
    frame.coalesce(1).write.mode("overwrite").option("compression", "zstd").parquet(parts)
    (part,) = [n for n in os.listdir(parts) if n.startswith("part-")]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    os.replace(os.path.join(parts, part), path)
    shutil.rmtree(parts)


def run(spark, args, timings):
    io = Io(args.io)
    try:
        steps = {
            "clean": (clean_orders, ["orders"], "cleaned"),
            "join": (join_customers, ["cleaned", "customers"], "joined"),
            "aggregate": (revenue_by_region, ["joined"], "revenue"),
        }
        for name in args.steps.split(","):
            build, inputs, output = steps[name]
            phase = timings.setdefault(name, {})
            mark = time.time()
            paths = [io.readable(getattr(args, i)) for i in inputs]
            phase["download"] = round(time.time() - mark, 3)
            mark = time.time()
            local = io.writable(getattr(args, output))
            write(build(*[spark.read.parquet(p) for p in paths]), local, args.write)
            phase["sql"] = round(time.time() - mark, 3)
            mark = time.time()
            io.publish(local, getattr(args, output))
            phase["upload"] = round(time.time() - mark, 3)
    finally:
        io.close()


def explain(spark, job_file):
    """The physical plans of Glacier's compiled join and of the hand-written one."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src",
                                    "backends", "spark"))
    import runner
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    with open(job_file) as f:
        job = json.load(f)
    io = runner.Storage(spark)
    frames = {}
    for name, table in job["inputs"].items():
        frames[name] = runner.read_input(spark, io, job["task"], name, table)
        frames[name].createOrReplaceTempView(table["view"])
    compiled = spark.sql(job["sql"])
    written = runner.check_output(spark, job["task"], compiled, job["output"])
    written = written.observe(Observation("glacier"), F.count(F.lit(1)).alias("rows"))
    handwritten = join_customers(spark.read.parquet(job["inputs"]["orders_df"]["uri"]),
                                 spark.read.parquet(job["inputs"]["customers_df"]["uri"]))
    plans = {
        "compiled": plan_of(spark, compiled),
        "runner": plan_of(spark, written),
        "handwritten": plan_of(spark, handwritten),
    }
    io.cleanup()
    return plans


def plan_of(spark, frame):
    """`EXPLAIN FORMATTED` of a DataFrame."""
    jvm = spark.sparkContext._jvm
    return jvm.PythonSQLUtils.explainString(frame._jdf.queryExecution(), "formatted")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", default="clean,join,aggregate")
    for name in ("orders", "customers", "cleaned", "joined", "revenue"):
        parser.add_argument(f"--{name}")
    parser.add_argument("--io", choices=["local", "s3"], default="local")
    parser.add_argument("--write", choices=["parts", "single"], default="parts")
    parser.add_argument("--explain", metavar="JOB")
    args = parser.parse_args()

    from pyspark.sql import SparkSession

    spark = SparkSession.builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    timings = {"session": round(time.time() - STARTED, 3)}
    try:
        if args.explain:
            print(json.dumps(explain(spark, args.explain)), flush=True)
            return 0
        run(spark, args, timings)
    finally:
        spark.stop()
    timings["seconds"] = round(time.time() - STARTED, 3)
    print(json.dumps(timings), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
