"""Runs the quality-check corpus on a Spark Connect server, through the runner's own code.

Usage: python _spark_checks_harness.py SPEC.json sc://HOST:PORT

SPEC holds {"results": path, "cases": [{"name", "table": {"uri", "format", "columns"},
"checks": compiled checks}]}. Each case's table is read as the runner reads a job's output
(runner.read_input), and its checks run as the runner runs them (runner.run_checks), in one
session of the server. The results file maps each case's name to its results, or to
{"error": message}.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "src", "backends", "spark"))

import runner  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    settings = {"spark.sql.session.timeZone": "UTC", "spark.sql.shuffle.partitions": "2"}
    spark = SparkSession.builder.remote(sys.argv[2]).create()
    for key, value in settings.items():
        spark.conf.set(key, value)
    io = runner.Storage(spark, classic=False)
    results = {}
    for case in spec["cases"]:
        try:
            frame = runner.read_input(spark, io, "corpus", "output", case["table"])
            results[case["name"]] = runner.run_checks(spark, frame, case["checks"])
        except Exception as error:  # noqa: BLE001 - every failure is reported per case
            results[case["name"]] = {"error": str(error)[:4000]}
    with open(spec["results"], "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    io.cleanup()
    spark.stop()


if __name__ == "__main__":
    main()
