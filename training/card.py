"""The model card: README.md in a model directory.

`render_card(config, eval_metrics)` builds it from the ModelConfig (training config, calibration,
dev metrics from training) and, when given, the evaluation harness's metrics.json;
`write_card(model_dir, eval_metrics)` (re)writes it in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from redflags.atomic import write_text
from redflags.markers import DESCRIPTIONS, MARKERS, STYLE_NOT_TRUTH
from redflags.core.model_dir import CARD_FILE, HUB_NAMES
from redflags.core.modeling import read_config
from redflags.scoring.profile import REFERENCE_FILE
from redflags.training.corpora import CORPORA
from redflags.training.result_tables import span_tables

SHORT = {"unverifiable_sourcing": "U", "hedging": "H", "sensational_framing": "S"}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    if v is None:
        return "–"
    return str(v)


def _corpus_rows(training_config: dict[str, Any] | None) -> list[str]:
    corpora = (training_config or {}).get("data", {}).get("corpora", {})
    rows = ["| corpus | kind | markers informed (others masked) | sampling weight | record cap | licence |",
            "|---|---|---|---|---|---|"]
    for name, spec in sorted(corpora.items()):
        info = CORPORA.get(name)
        informs = ", ".join(info.informs) if info else "?"
        used = (spec or {}).get("markers")
        if used is not None:  # the config restricted which markers this corpus teaches
            informs = ", ".join(used) + (f" (of {', '.join(info.informs)})" if info else "")
        rows.append(f"| {name} | {info.kind if info else '?'} | {informs} | {_fmt((spec or {}).get('weight'))} | "
                    f"{_fmt((spec or {}).get('max_records'))} | {info.licence if info else 'unknown'} |")
    return rows


def _leaf_tables(metrics: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path, leaf) for every dict whose values are all scalars, depth first."""
    if not isinstance(metrics, dict):
        return []
    if metrics and all(not isinstance(v, (dict, list)) for v in metrics.values()):
        return [(path, metrics)]
    out = []
    for k, v in metrics.items():
        out.extend(_leaf_tables(v, (*path, str(k))))
    return out


def _metrics_section(title: str, metrics: dict[str, Any]) -> list[str]:
    lines = [f"### {title}", ""]
    command = metrics.get("command") if isinstance(metrics, dict) else None
    if command:
        lines += ["Produced by:", "", "```bash", str(command), "```", ""]
    leaves = [(p, leaf) for p, leaf in _leaf_tables({k: v for k, v in metrics.items() if k != "command"})]
    if not leaves:
        return lines + ["(no metrics)", ""]
    cols: list[str] = []
    for _, leaf in leaves:
        cols += [c for c in leaf if c not in cols]
    lines += ["| where | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for p, leaf in leaves:
        lines.append(f"| {' / '.join(p) or '-'} | " + " | ".join(_fmt(leaf.get(c)) for c in cols) + " |")
    return lines + [""]


def _harness_section(title: str, result: dict[str, Any]) -> list[str]:
    """Tables for one metrics.json of the evaluation harness: pooled per marker, then per corpus."""
    systems = result.get("systems") or {}
    lines = [f"### {title}", ""]
    if result.get("command"):
        lines += ["Produced by:", "", "```bash", str(result["command"]), "```", ""]
    if result.get("report_link"):
        lines += [f"Full report with confidence intervals and figures: [{result['report_link']}]({result['report_link']})", ""]
    cols = ("n", "positives", "threshold", "precision", "recall", "f1", "pr_auc", "ece")
    lines += ["| marker | system | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for m in MARKERS:
        for name, sysres in systems.items():
            row = (sysres.get("metrics") or {}).get("markers", {}).get(m)
            if row:
                lines.append(f"| {m} | {name} | " + " | ".join(_fmt(row.get(c)) for c in cols) + " |")
    model_name = next(iter(systems), None)
    base = "tfidf_logreg" if "tfidf_logreg" in systems else None
    per_corpus = ((systems.get(model_name) or {}).get("metrics") or {}).get("per_corpus", {}) if model_name else {}
    if per_corpus:
        head = f"| corpus | marker | n | positives | {model_name} F1 | {model_name} PR-AUC |"
        head += f" {base} F1 | {base} PR-AUC |" if base else ""
        lines += ["", head, "|---|---|---|---|---|---|" + ("---|---|" if base else "")]
        base_pc = ((systems.get(base) or {}).get("metrics") or {}).get("per_corpus", {}) if base else {}
        for corpus, block in per_corpus.items():
            for m, row in (block.get("markers") or {}).items():
                line = (f"| {corpus} | {m} | {_fmt(row.get('n'))} | {_fmt(row.get('positives'))} | "
                        f"{_fmt(row.get('f1'))} | {_fmt(row.get('pr_auc'))} |")
                if base:
                    b = (base_pc.get(corpus, {}).get("markers") or {}).get(m) or {}
                    line += f" {_fmt(b.get('f1'))} | {_fmt(b.get('pr_auc'))} |"
                lines.append(line)
    if result.get("spans"):
        lines += ["", f"Evidence spans, on the {result['spans']['sentences']} sentences whose words are marked "
                  "(span thresholds " + ", ".join(f"{m} {_fmt(t)}" for m, t in result["spans"]["span_thresholds"].items())
                  + "):", ""]
        lines += [t.markdown().replace("### ", "#### ", 1) for t in span_tables(result["spans"])]
    return lines + [""]


def _eval_sections(eval_metrics: dict[str, Any]) -> list[str]:
    """One harness metrics.json, or a mapping title -> metrics.json (dev, test, cross-corpus ...)."""
    if "systems" in eval_metrics:
        return _harness_section("Evaluation harness", eval_metrics)
    lines: list[str] = []
    for title, result in eval_metrics.items():
        if isinstance(result, dict) and "systems" in result:
            lines += _harness_section(str(title), result)
        elif isinstance(result, dict):
            lines += _metrics_section(str(title), result)
    return lines


def _model_index(config: Any, eval_metrics: dict[str, Any] | None) -> list[dict[str, Any]]:
    """model-index results: per evaluation (title), the model's F1, PR-AUC and ECE per marker.

    Sections titled "... (for comparison)" show another model (e.g. the previous default) and stay
    out of this model's metadata.
    """
    results = []
    evals = {"Evaluation harness": eval_metrics} if eval_metrics and "systems" in eval_metrics else (eval_metrics or {})
    for title, result in evals.items():
        if not isinstance(result, dict) or "systems" not in result or "(for comparison)" in str(title):
            continue
        model_sys = next(iter(result["systems"].values()), {})
        per = ((model_sys.get("metrics") or {}).get("markers")) or {}
        metrics = [{"type": key, "name": f"{label} {m}", "value": round(float(row[key]), 4)}
                   for m, row in per.items() for key, label in (("f1", "F1"), ("pr_auc", "PR-AUC"), ("ece", "ECE"))
                   if row.get(key) is not None]
        if metrics:
            results.append({"task": {"type": "text-classification", "name": "multi-label sentence classification"},
                            "dataset": {"name": str(title), "type": "redflags-evaluation"}, "metrics": metrics})
    dev = (config.metrics or {}).get("dev_calibrated") or {}
    if not results and dev:
        metrics = [{"type": key, "name": f"{key} {m} (dev)", "value": round(float(row[key]), 4)}
                   for m, row in dev.items() for key in ("f1", "pr_auc") if row.get(key) is not None]
        results.append({"task": {"type": "text-classification", "name": "multi-label sentence classification"},
                        "dataset": {"name": "dev split (fitted on)", "type": "redflags-training"}, "metrics": metrics})
    return results


def front_matter(config: Any, eval_metrics: dict[str, Any] | None = None) -> str:
    """YAML metadata that the Hugging Face Hub and its tools read: licence, base model, datasets, model-index."""
    corpora = sorted(((config.training_config or {}).get("data") or {}).get("corpora") or {})
    meta: dict[str, Any] = {
        # The code is Apache-2.0; the weights carry the terms of the corpora they were trained on (listed below).
        "license": "other",
        "license_name": "apache-2.0-code-and-training-corpora-terms",
        "language": ["en"],
        "library_name": "peft" if config.lora else "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["redflags", "multi-label", "news", "style-not-truth"],
    }
    if config.base_encoder:
        meta["base_model"] = HUB_NAMES.get(config.base_encoder, config.base_encoder)
    if corpora:
        meta["datasets"] = corpora
    index = _model_index(config, eval_metrics)
    if index:
        meta["model-index"] = [{"name": "redflags", "results": index}]
    return yaml.safe_dump(meta, sort_keys=False, allow_unicode=True)


def _data_limit(training_config: dict[str, Any]) -> str:
    corpora = (training_config.get("data") or {}).get("corpora") or {}
    proxies = ("public research corpora that are proxies for the markers (biomedical and review hedging, Wikipedia "
               "weasel words, propaganda and bias annotations, weak rules)")
    if "news_annotations" in corpora:
        return ("- Trained on news sentences annotated to the codebook (US political news and propaganda-technique "
                "articles of PolNeAR and PTC, labelled by annotator sessions following docs/ANNOTATION.md) and on "
                + proxies + "; other outlets, languages and registers (satire, social media) are less reliable.")
    return f"- Trained on {proxies}; news outside those domains, other languages and other registers (opinion, satire, social media) are less reliable."


def reference_section(reference: dict[str, Any]) -> list[str]:
    """The card's section on reference_profile.json (redflags.scoring.profile): what the set is and how shares spread."""
    sample, corpora = reference.get("sample", {}), reference.get("corpora", {})
    parts = ", ".join(f"{c} {v.get('articles')}" for c, v in corpora.items())
    lines = ["## Reference profile", "",
             f"`reference_profile.json`: {reference.get('description', '')} (seed {sample.get('seed')}; {parts}; "
             f"{sample.get('sentences')} sentences; split `{(reference.get('split') or {}).get('name')}` only, never "
             f"dev or test), made on {reference.get('created')} with `{reference.get('command')}`. Reports place an "
             "article's share of flagged sentences among these articles: \"more than N% of reference news articles\" "
             "is the share of reference articles with a strictly lower share. A percentile describes style, not truth.",
             "", "| marker | median share | 90th percentile | articles with none flagged |", "|---|---|---|---|"]
    for m, shares in (reference.get("shares") or {}).items():
        if shares:
            s = sorted(shares)
            lines.append(f"| {m} | {s[len(s) // 2]:.1%} | {s[int(0.9 * len(s))]:.1%} | {sum(x == 0 for x in s) / len(s):.0%} |")
    return lines + [""]


def render_card(config: Any, eval_metrics: dict[str, Any] | None = None, reference: dict[str, Any] | None = None) -> str:
    """Markdown for a model card from a ModelConfig, optional evaluation metrics and reference profile."""
    tc = config.training_config or {}
    markers = list(config.markers)
    lines = ["---", front_matter(config, eval_metrics).rstrip(), "---", "", "# redflags model", "", f"> {STYLE_NOT_TRUTH}", "",
             "Scores each sentence of a news article for rhetorical markers (multi-label, independent probabilities).",
             "", "## Markers", ""]
    for m in markers:
        lines.append(f"- **{m}** ({SHORT.get(m, m)}): {DESCRIPTIONS.get(m, '')}; "
                     f"threshold {_fmt(config.thresholds.get(m))}")
    lines += ["", "The full codebook, with decided edge cases, is `docs/CODEBOOK.md` in the redflags repository.", "",
              "## Model", "",
              f"- base encoder: `{config.base_encoder or 'built from encoder_config (random, test model)'}`, "
              f"max length {config.max_length} tokens",
              f"- {'LoRA adapters r=%d alpha=%d on %s' % (config.lora.r, config.lora.alpha, ', '.join(config.lora.target_modules)) if config.lora else 'full fine-tuning'}"
              " + mean pooling + linear head, one logit per marker",
              *([("- token head on the same encoder pass: per word, one logit per marker (is it evidence?) and "
                  f"one per technique ({', '.join(config.techniques)}); span thresholds (fitted on dev): "
                  + ", ".join(f"{m} {_fmt(config.span_thresholds.get(m))}" for m in markers))]
                if config.token_head else []),
              "- calibration per marker (Platt on the logit, fitted on dev only): "
              + ", ".join(f"{m} a={config.calibration[m]['a']:.3f} b={config.calibration[m]['b']:.3f}" for m in markers),
              "", "## Training data and label mapping", "",
              "Each corpus informs only some markers; for the others its sentences are masked (no loss), not "
              "negative. Sentences repeated across corpora were de-duplicated before splitting; splits are by "
              "document with a fixed seed. Licences travel with the model: non-commercial or share-alike terms of "
              "any corpus below apply to this model.", ""]
    lines += _corpus_rows(tc)
    train_m = (config.metrics or {}).get("training")
    if train_m:
        lines += ["", "## Training run", "", "Produced by `redflags train` with the config stored in config.json "
                  "(`training_config`).", ""]
        lines += [f"- {k.replace('_', ' ')}: {_fmt(v)}" for k, v in train_m.items()]
    lines += ["", "## Metrics", ""]
    dev = (config.metrics or {}).get("dev_calibrated")
    if dev:
        lines += _metrics_section("Dev split, calibrated (fitted on the same dev split: optimistic)",
                                  {"command": (train_m or {}).get("command"), **{m: dev[m] for m in dev}})
    if eval_metrics:
        lines += _eval_sections(eval_metrics)
    else:
        lines += ["Evaluation-harness metrics (test split, per corpus, cross-corpus) are added by `write_card` "
                  "from the harness's metrics.json.", ""]
    if reference:
        lines += reference_section(reference)
    lines += ["## Intended use", "",
              "Help readers, editors and researchers notice *how* a news text is written: where it leans on "
              "unidentifiable sources, hedges its claims, or uses emotive, exaggerating wording. Use the scores "
              "as prompts for a closer reading, in aggregate, with the sentence shown.", "",
              "## Limits", "",
              "- Markers describe style, not truth: do not use the scores to label a text or a source as false, "
              "or as a fact-checking verdict.",
              _data_limit(tc),
              "- English only; sentences are scored one at a time, so context (a pronoun referring to an anonymous "
              "source) is mostly invisible to the model.",
              "- Thresholds are tuned for F1 on the dev split; precision and recall trade off differently "
              "on other text.", ""]
    return "\n".join(lines)


def write_card(model_dir: Path | str, eval_metrics: dict[str, Any] | None = None) -> Path:
    """(Re)write README.md in a model directory, atomically.

    `eval_metrics`: the evaluation harness's metrics.json (a dict with "systems"), or a mapping
    title -> metrics.json, e.g. {"Dev split": dev, "Test split": test, "Cross-corpus (held out)": xc}.
    """
    d = Path(model_dir)
    config = read_config(d)
    ref_path = d / REFERENCE_FILE
    reference = json.loads(ref_path.read_text(encoding="utf-8")) if ref_path.is_file() else None
    text = render_card(config, eval_metrics, reference)
    return write_text(d / CARD_FILE, text)


__all__ = ["render_card", "write_card", "MARKERS"]
