"""Peak Python memory of writing one big report as JSONL: json.dumps (before) against the piecewise writer (now).

    python benchmarks/bench_jsonl_write.py    (60 news articles from the corpora as one article; a benchmark, not a test)
"""
import io, json, sys, time, tracemalloc
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from bench_scoring import news_articles
import redflags
from redflags.cli.app import _write_report, Format
texts = news_articles(60)
text = "\n\n".join(texts)
s = redflags.load()
t = time.perf_counter(); r = s.score(text); print(f"{len(text)} chars, {len(r.sentences)} sentences scored in {time.perf_counter()-t:.0f} s")
for name, write in [("json.dumps (before)", lambda fh: fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")),
                    ("piecewise (now)", lambda fh: _write_report(fh, [r], Format.jsonl, None))]:
    class Sink(io.TextIOBase):
        def write(self, x): return len(x)
    tracemalloc.start(); write(Sink()); peak = tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    print(f"{name}: peak {peak / 2**20:.1f} MiB allocated while writing")
