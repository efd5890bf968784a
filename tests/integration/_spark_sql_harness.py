"""Runs many compiled Glacier queries in one session of a Spark Connect server (for the semantics
corpus; the Spark test files share one server).

Usage: python _spark_sql_harness.py SPEC.json sc://HOST:PORT

SPEC holds {"results": path, "queries": [{"name", "sql", "inputs": {view: parquet path},
"output": directory}]}. Each query's inputs are registered as temporary views, the query runs with
spark.sql, and its rows are written as parquet (one part file) to its output directory. A query
that fails is recorded with Spark's message; the others still run. The results file lists
{"name", "ok", "error"?, "seconds"} per query. Queries run on a few threads at once (Spark runs
concurrent jobs of one session); their views have distinct names.
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import SparkSession


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.adaptive.enabled": "true",
    }
    spark = SparkSession.builder.remote(sys.argv[2]).create()
    for key, value in settings.items():
        spark.conf.set(key, value)

    def run(query: dict) -> dict:
        started = time.time()
        result = {"name": query["name"], "ok": True}
        try:
            for view, path in query["inputs"].items():
                spark.read.parquet(path).createOrReplaceTempView(view)
            frame = spark.sql(query["sql"])
            frame.coalesce(1).write.mode("overwrite").parquet(query["output"])
        except Exception as error:  # noqa: BLE001 - every failure is reported per query
            result = {"name": query["name"], "ok": False, "error": str(error)[:4000]}
        result["seconds"] = round(time.time() - started, 3)
        return result

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, spec["queries"]))
    with open(spec["results"], "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    spark.stop()


if __name__ == "__main__":
    main()
