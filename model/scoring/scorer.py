"""Score articles sentence by sentence with a saved redflags model.

Sentences are streamed from the segmenter into a pool (4,096 sentences by default); the pool is
sorted by token length (little padding), cut into batches, scored, and the scores go back to their
sentences. Memory therefore stays bounded by the pool, whatever the article's length, and batches
mix sentences of several articles. Results come back in input order, and do not depend on the
batch size or the pool (up to float rounding far below the printed digits).
"""
# Size: over 400 lines because the Scorer's pooled batching, its public methods and load() share its state.

from __future__ import annotations

import dataclasses
import logging
import os
from collections import deque
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional, Sequence

import numpy as np

from redflags.core.probability import flags_at
from redflags.scoring import evidence as evidence_mod
from redflags.scoring.evidence import Evidence
from redflags.scoring.report import ArticleReport, SentenceScore, SkippedLine
from redflags.scoring.segment import Sentence, iter_segments

if TYPE_CHECKING:  # (imported lazily at run time: see load)
    from redflags.scoring.profile import Reference
    from redflags.core.modeling import ModelConfig, RedflagsModel

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
# Sentences pooled before they are sorted by length and scored: large enough that batches are cut
# from one length order (padding adds about 3% of the work on news text, 29% with pools of 256),
# small enough to bound memory (a pool's token ids are a few MB).
DEFAULT_POOL_SIZE = 4096
DEFAULT_MODEL_DIR = Path(__file__).resolve().parents[1] / "default_model"


def _check_text(text: object, what: str = "text") -> str:
    if isinstance(text, os.PathLike):
        raise TypeError(f"{what} is a path ({os.fspath(text)!r}), not the article's text: score(path) reads one "
                        "file; for many, pass their texts (e.g. p.read_text(encoding='utf-8'))")
    if not isinstance(text, str):
        raise TypeError(
            f"{what} must be a str (the article's text), got {type(text).__name__}; "
            "decode bytes first (e.g. data.decode('utf-8')) and pass one str per article"
        )
    return text


def _read_article(path: os.PathLike) -> str:
    """A file's text as UTF-8 (a byte-order mark dropped); a ValueError names the file and the bad byte."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"{os.fspath(path)}: not UTF-8 text (byte 0x{data[e.start]:02x} at position {e.start}); "
                         "decode it yourself and pass the str") from None


def _check_count(value: object, name: str) -> int:
    """A positive int argument (batch_size, pool_size, threads), or a TypeError / ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


class Scorer:
    """A loaded model plus its tokenizer: scores sentences and articles.

    Use `redflags.load()` rather than building one by hand.
    """

    def __init__(self, model: "RedflagsModel", tokenizer: Any, model_dir: Optional[Path] = None, device: str = "cpu",
                 dtype: str = "float32") -> None:
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.model_dir = model_dir
        self.device = device
        self.dtype = dtype  # "float32" or "bfloat16" (autocast): what the model computes in
        # Reports carry evidence spans when the model has a token head; False skips them (a little faster).
        self.evidence = True

    @property
    def config(self) -> "ModelConfig":
        """The model's ModelConfig (markers, thresholds, calibration, versions, ...)."""
        return self.model.config

    @property
    def markers(self) -> tuple[str, ...]:
        """Marker names, in the column order of `predict_proba`."""
        return tuple(self.config.markers)

    @property
    def thresholds(self) -> dict[str, float]:
        """Per marker: the probability at or above which a sentence is flagged."""
        return {m: float(self.config.thresholds[m]) for m in self.markers}

    @property
    def has_evidence(self) -> bool:
        """Whether the model has a token head, so that reports carry evidence spans."""
        return getattr(self.model, "token_head", None) is not None

    @property
    def span_thresholds(self) -> dict[str, float]:
        """Per marker: the token probability at or above which a word is evidence (empty without a token head)."""
        return {m: float(self.config.span_thresholds[m]) for m in self.markers} if self.has_evidence else {}

    @property
    def max_length(self) -> int:
        """Tokens the model reads at once (special tokens included); longer sentences are read in overlapping windows."""
        return int(self.config.max_length)

    @cached_property
    def model_name(self) -> Optional[str]:
        """The model's name for readers: its directory's name (never a path); None without a directory."""
        if self.model_dir is None:
            return None
        return "redflags default model" if self.model_dir.resolve() == DEFAULT_MODEL_DIR else self.model_dir.resolve().name

    @cached_property
    def model_version(self) -> Optional[str]:
        """A short hash of the weights, thresholds and calibration (redflags.scoring.profile.model_version)."""
        if self.model_dir is None:
            return None
        from redflags.scoring.profile import model_version

        return model_version(self.model_dir, dataclasses.asdict(self.config))

    @cached_property
    def reference(self) -> "Optional[Reference]":
        """The model directory's reference profile of news articles (None when it has none)."""
        from redflags.scoring.profile import read_reference

        return read_reference(self.model_dir, self.model_version)

    def __repr__(self) -> str:
        return f"Scorer(model_dir={str(self.model_dir)!r}, markers={list(self.markers)}, dtype={self.dtype!r})"

    # --- sentences ------------------------------------------------------------------------------

    def predict_proba(self, sentences: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Calibrated probabilities, shape (len(sentences), len(markers)), rows in input order."""
        if isinstance(sentences, str):
            raise TypeError("sentences must be a list of str; for one article use score(text)")
        texts = [_check_text(s, f"sentences[{i}]") for i, s in enumerate(sentences)]
        probs, _ = self._proba(texts, batch_size)
        return probs

    def predict(self, sentences: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Flags, shape (len(sentences), len(markers)), bool: `predict_proba` at each marker's threshold."""
        return self._flags(self.predict_proba(sentences, batch_size=batch_size))

    def _flags(self, probs: np.ndarray) -> np.ndarray:
        return flags_at(probs, [self.thresholds[m] for m in self.markers])

    def predict_spans(self, sentences: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE,
                      flagged_only: bool = False, return_proba: bool = False) -> Any:
        """Evidence spans per sentence, every marker (or only the flagged ones), offsets into that sentence;
        with `return_proba`, (probabilities as `predict_proba` gives them, spans) from the same pass.

        Raises ValueError for a model without a token head (trained before evidence spans).
        """
        if isinstance(sentences, str):
            raise TypeError("sentences must be a list of str; for one article use score(text)")
        if not self.has_evidence:
            raise ValueError(f"the model {self.model_dir} has no token head, so it gives no evidence spans; "
                             "train one with model.token_head: true")
        texts = [_check_text(s, f"sentences[{i}]") for i, s in enumerate(sentences)]
        probs, _, spans = self._score(texts, batch_size, evidence=True, flagged_only=flagged_only)
        return (probs, spans) if return_proba else spans

    def predict_span_techniques(self, sentences: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
                                batch_size: int = DEFAULT_BATCH_SIZE) -> list[list[Optional[tuple[str, float]]]]:
        """For given (start, end) spans of each sentence: the technique head's (technique, probability),
        averaged over the span's tokens (None for a span past the model's maximum length)."""
        from redflags.core import inference

        if not self.has_evidence or not self.config.techniques:
            raise ValueError(f"the model {self.model_dir} has no technique head")
        texts = [_check_text(s, f"sentences[{i}]") for i, s in enumerate(sentences)]
        tok = inference.tokenize_texts(self.tokenizer, texts, self.max_length, offsets=True)
        out = inference.predict_outputs(self.model, tok.ids, self.tokenizer.pad_token_id, batch_size, self.device,
                                        tokens=True, dtype=self.dtype)
        result: list[list[Optional[tuple[str, float]]]] = []
        for i, wanted in enumerate(spans):
            probs = evidence_mod.softmax(out.technique_logits[i])  # type: ignore[index]
            row: list[Optional[tuple[str, float]]] = []
            for start, end in wanted:
                toks = [t for t, (a, b) in enumerate(tok.offsets[i]) if b > a and a < end and b > start]  # type: ignore[index]
                if not toks:
                    row.append(None)
                    continue
                mean = probs[toks].mean(axis=0)
                k = int(mean.argmax())
                row.append((self.config.techniques[k], float(mean[k])))
            result.append(row)
        return result

    def save_pretrained(self, directory: str | Path, card: Optional[str] = None) -> Path:
        """Write this scorer's model directory (adapters, head, config, tokenizer, card); needs the training extras."""
        from redflags.extras import require

        require("train", "save_pretrained", api=True)
        if card is None and self.model_dir is not None and (Path(self.model_dir) / "README.md").is_file():
            card = (Path(self.model_dir) / "README.md").read_text(encoding="utf-8")
        model = self.model
        if getattr(model, "_inference_only", False):
            # The scorer's model has its adapters folded in (loading.py): save from the directory's own weights.
            from redflags.core.modeling import RedflagsModel

            if self.model_dir is None:
                raise ValueError("this scorer's model was loaded for inference only and has no directory to save from")
            model = RedflagsModel.from_pretrained(self.model_dir)
            model.config = self.config
        return model.save_pretrained(directory, model.tokenizer, card=card)

    def _proba(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (n, M), windows read per sentence (n,)) for sentences, through the one inference path."""
        probs, windows, _ = self._score(texts, batch_size)
        return probs, windows

    def _score(self, texts: list[str], batch_size: int, evidence: bool = False, flagged_only: bool = True
               ) -> tuple[np.ndarray, np.ndarray, Optional[list[list[Evidence]]]]:
        """Probabilities, windows read and (with `evidence` and a token head) evidence spans per sentence,
        offsets relative to each sentence, from one encoder pass.

        A sentence longer than the model's `max_length` tokens is read in overlapping windows
        (inference.tokenize_windows): per marker its probability is the highest any window gives, and
        its evidence words come from all windows."""
        # Deferred: torch and transformers cost seconds to import, and `redflags --help` needs neither.
        from redflags.core import inference

        _check_count(batch_size, "batch_size")
        evidence = evidence and self.has_evidence
        win = inference.tokenize_windows(self.tokenizer, texts, self.max_length, offsets=evidence)
        out = inference.predict_outputs(self.model, win.ids, self.tokenizer.pad_token_id, batch_size, self.device,
                                        tokens=evidence, dtype=self.dtype)
        probs = self.model.calibrated_proba(out.logits)
        if len(texts) and len(win.ids) > len(texts):
            probs = np.maximum.reduceat(probs, win.first, axis=0)
        if not evidence or out.token_logits is None:
            return probs, win.count, None
        flags = self._flags(probs)
        spans = []
        for i, text in enumerate(texts):
            only = [m for j, m in enumerate(self.markers) if flags[i, j]] if flagged_only else None
            if only == []:
                spans.append([])
                continue
            offsets, words, token_logits, tech = inference.merged_tokens(win, out, i)
            spans.append(evidence_mod.decode(text, offsets, words, token_logits, tech, self.markers,
                                             self.span_thresholds, self.config.techniques, only=only))
        return probs, win.count, spans

    # --- articles -------------------------------------------------------------------------------

    def score(self, text: str | os.PathLike, source: Optional[str] = None,
              batch_size: int = DEFAULT_BATCH_SIZE) -> ArticleReport:
        """Segment one article, score every sentence for every marker, summarise. A path (pathlib.Path)
        is read as UTF-8 and names the report's source unless `source` is given."""
        if isinstance(text, os.PathLike):
            source = os.fspath(text) if source is None else source
            text = _read_article(text)
        _check_text(text)
        return self.score_many([text], batch_size=batch_size, sources=[source])[0]

    def score_many(
        self,
        texts: Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress: bool = False,
        sources: Optional[Sequence[Optional[str]]] = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> list[ArticleReport]:
        """Score many articles in batches that mix their sentences; reports in input order."""
        return list(self.iter_score_many(texts, batch_size=batch_size, show_progress=show_progress, sources=sources,
                                         pool_size=pool_size))

    def iter_score_many(
        self,
        texts: Iterable[str],
        batch_size: int = DEFAULT_BATCH_SIZE,
        show_progress: bool = False,
        sources: Optional[Sequence[Optional[str]]] = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> Iterator[ArticleReport]:
        """Like `score_many`, but yields each report (in input order) as soon as it is complete: memory stays
        bounded by the pool (`pool_size` sentences), whatever the number of articles."""
        _check_count(batch_size, "batch_size")
        _check_count(pool_size, "pool_size")
        if isinstance(texts, (str, bytes)):
            raise TypeError("texts must be an iterable of str (one per article); for one article use score(text)")
        total = len(texts) if hasattr(texts, "__len__") else None  # type: ignore[arg-type]
        if sources is not None and total is not None and len(sources) != total:
            raise ValueError(f"got {total} texts but {len(sources)} sources")
        bar = _progress(total, show_progress)
        pool: list[tuple[_Pending, Sentence]] = []
        pending: deque[_Pending] = deque()  # articles read but not yet handed back, in input order
        try:
            for k, text in enumerate(texts):
                _check_text(text, f"texts[{k}]")
                article = _Pending(text, sources[k] if sources is not None else None)
                pending.append(article)
                for sent in iter_segments(text):
                    if sent.skipped is not None:  # a boilerplate line: reported, not scored
                        article.skipped.append(SkippedLine(sent.start, sent.end, sent.text, sent.skipped))
                        continue
                    pool.append((article, sent))
                    article.n_sentences += 1
                    if len(pool) >= pool_size:
                        self._flush(pool, batch_size)
                article.segmented = True
                while pending and pending[0].done:
                    yield self._finish(pending.popleft())
                    bar.update(1)
            self._flush(pool, batch_size)
            for article in pending:
                yield self._finish(article)
                bar.update(1)
        finally:
            bar.close()

    def _flush(self, pool: list[tuple["_Pending", Sentence]], batch_size: int) -> None:
        """Score the pooled sentences and append their SentenceScores to their articles."""
        if not pool:
            return
        probs, windows, spans = self._score([s.text for _, s in pool], batch_size, evidence=self.evidence)
        flagged = self._flags(probs)
        # The pool keeps each article's sentences in text order, so appending keeps them in order.
        for k, ((article, sent), p, n_windows) in enumerate(zip(pool, probs, windows)):
            scores = {m: float(p[j]) for j, m in enumerate(self.markers)}
            found = None
            if spans is not None:  # sentence offsets -> article offsets
                found = tuple(dataclasses.replace(e, start=e.start + sent.start, end=e.end + sent.start) for e in spans[k])
            article.scored.append(
                SentenceScore(
                    index=len(article.scored),
                    text=sent.text,
                    start=sent.start,
                    end=sent.end,
                    scores=scores,
                    flags={m: bool(flagged[k, j]) for j, m in enumerate(self.markers)},
                    windows=int(n_windows),
                    evidence=found,
                )
            )
        pool.clear()

    def _finish(self, article: "_Pending") -> ArticleReport:
        return ArticleReport(
            text=article.text,
            sentences=article.scored,
            markers=self.markers,
            thresholds=self.thresholds,
            source=article.source,
            model=self.model_name,
            model_version=self.model_version,
            dtype=self.dtype,
            reference=self.reference,
            skipped=article.skipped,
        )


class _Pending:
    """An article being scored: its sentences are scored as the pool fills up."""
    def __init__(self, text: str, source: Optional[str]) -> None:
        self.text = text
        self.source = source
        self.scored: list[SentenceScore] = []
        self.skipped: list[SkippedLine] = []
        self.n_sentences = 0
        self.segmented = False

    @property
    def done(self) -> bool:
        return self.segmented and len(self.scored) == self.n_sentences


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: Optional[int], show: bool) -> Any:
    if not show:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="article", desc="scoring")


def load(path: str | Path | None = None, device: Optional[str] = None, dtype: str = "float32",
         threads: Optional[int] = None) -> Scorer:
    """Load a model directory (the shipped default model when `path` is None); never uses the network.

    `dtype`: "float32" (the default: the same scores on every CPU and for every batch), "bfloat16"
    (autocast; faster on CPUs with native bf16, but its scores move with batch neighbours) or "auto":
    bfloat16 only where the hardware multiplies it natively and the model records a passed parity
    check (precision.py), float32 otherwise. Only float32 gives one answer everywhere.
    `threads`: torch's CPU threads for this process; None keeps torch's default, which follows
    $OMP_NUM_THREADS when it is set. Raises `redflags.core.modeling.ModelLoadError` naming the directory
    and the problem.
    """
    from redflags.core.precision import DTYPES, resolve_dtype

    if dtype not in DTYPES:  # checked before the slow imports and the load
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if threads is not None:
        _check_count(threads, "threads")
    # Deferred: torch and transformers cost seconds to import, and `import redflags` needs neither.
    import torch
    from redflags.core.loading import load_for_scoring
    from redflags.core.modeling import ModelLoadError

    if threads is not None:
        torch.set_num_threads(threads)
    if path is None:
        directory = DEFAULT_MODEL_DIR
        if not (directory / "config.json").is_file():
            raise ModelLoadError(
                f"{directory}: no default model is shipped in this installation; "
                "pass a model directory (load(path) or --model PATH)"
            )
    else:
        if not isinstance(path, (str, Path)):
            raise TypeError(f"path must be a str or Path to a model directory, got {type(path).__name__}")
        directory = Path(path).expanduser()
    model, tokenizer = load_for_scoring(directory)
    # Without its vocabulary files a tokenizer still loads (special tokens only) and maps every
    # word to [UNK]: scores would be silently meaningless. Its size must fit the embeddings.
    rows = model.encoder.get_input_embeddings().num_embeddings
    if not rows // 2 <= len(tokenizer) <= rows:
        raise ModelLoadError(
            f"{directory}: the tokenizer has {len(tokenizer)} tokens but the model's embeddings have {rows} rows "
            "(tokenizer files missing or from another model)"
        )
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return Scorer(model, tokenizer, model_dir=directory, device=device,
                  dtype=resolve_dtype(dtype, device, model.config.parity))
