"""The languages kbsearch analyses: language tags (BCP 47), each language's stemmer, accent
folding and script, and the scripts written without spaces (Chinese, Japanese, Korean), which are
indexed as overlapping pairs of characters.

Knows nothing of Whoosh or documents: the schema builds its analysis from these tables.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import unicodedata
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Analysis:
    """How one language's text is analysed, and the suffix of its fields."""

    code: str  # the language subtag of BCP 47 ("en", "pt"), or "und" for any other language
    name: str  # in English ("German")
    stemmer: str | None  # PyStemmer's algorithm; None: words are not stemmed
    script: str  # the script its words are written in (`scripts_of`)
    fold: bool = True  # accents folded: people type words without them
    keep: str = ""  # letters of its alphabet that folding keeps (Spanish ñ: año is not ano)

    @property
    def suffix(self) -> str:
        """The suffix of its text fields: none for English, `_de` for German."""
        return "" if self.code == "en" else "_" + self.code


# Every language Snowball stems (PyStemmer), Chinese, Japanese, Korean and Thai, and `und` for the
# rest.
# Folding keeps the letters a language's readers take for letters of their own (Swedish å ä ö,
# Turkish ç ğ ö ş ü, Polish ą ę ł ń ó ś ź ż ...), and folds the accents readers leave out when
# they type (French, Portuguese, German umlauts, which Snowball German drops too).
_TABLE = (
    Analysis("en", "English", "english", "Latin"),
    Analysis("ar", "Arabic", "arabic", "Arabic"),
    Analysis("ca", "Catalan", "catalan", "Latin"),
    Analysis("cs", "Czech", "czech", "Latin", keep="áčďéěíňóřšťúůýž"),
    Analysis("da", "Danish", "danish", "Latin", keep="æøå"),
    Analysis("de", "German", "german", "Latin"),
    Analysis("el", "Greek", "greek", "Greek"),
    Analysis("eo", "Esperanto", "esperanto", "Latin", keep="ĉĝĥĵŝŭ"),
    Analysis("es", "Spanish", "spanish", "Latin", keep="ñ"),
    Analysis("et", "Estonian", "estonian", "Latin", keep="õäöüšž"),
    Analysis("eu", "Basque", "basque", "Latin"),
    Analysis("fa", "Persian", "persian", "Arabic"),
    Analysis("fi", "Finnish", "finnish", "Latin", keep="åäö"),
    Analysis("fr", "French", "french", "Latin"),
    Analysis("ga", "Irish", "irish", "Latin"),
    Analysis("hi", "Hindi", "hindi", "Devanagari", fold=False),
    Analysis("hu", "Hungarian", "hungarian", "Latin", keep="áéíóöőúüű"),
    Analysis("hy", "Armenian", "armenian", "Armenian", fold=False),
    Analysis("id", "Indonesian", "indonesian", "Latin"),
    Analysis("it", "Italian", "italian", "Latin"),
    Analysis("lt", "Lithuanian", "lithuanian", "Latin", keep="ąčęėįšųūž"),
    Analysis("ne", "Nepali", "nepali", "Devanagari", fold=False),
    Analysis("nl", "Dutch", "dutch", "Latin"),
    Analysis("no", "Norwegian", "norwegian", "Latin", keep="æøå"),
    Analysis("pl", "Polish", "polish", "Latin", keep="ąćęłńóśźż"),
    Analysis("pt", "Portuguese", "portuguese", "Latin"),
    Analysis("ro", "Romanian", "romanian", "Latin", keep="ăâîșşțţ"),
    Analysis("ru", "Russian", "russian", "Cyrillic", keep="й"),
    Analysis("sr", "Serbian", "serbian", "Cyrillic", keep="čćđšžй"),
    Analysis("st", "Sesotho", "sesotho", "Latin"),
    Analysis("sv", "Swedish", "swedish", "Latin", keep="åäö"),
    Analysis("ta", "Tamil", "tamil", "Tamil", fold=False),
    Analysis("tr", "Turkish", "turkish", "Latin", keep="çğıöşü"),
    Analysis("yi", "Yiddish", "yiddish", "Hebrew", fold=False),
    Analysis("zh", "Chinese", None, "Han", fold=False),
    Analysis("ja", "Japanese", None, "Kana", fold=False),
    Analysis("ko", "Korean", None, "Hangul", fold=False),
    Analysis("th", "Thai", None, "Thai", fold=False),
    Analysis("und", "Other", None, "Latin"),
)
ANALYSES: dict[str, Analysis] = {a.code: a for a in _TABLE}
# Each analysed language's name in English, as "read as German" says it.
ENGLISH_NAMES = {code: analysis.name for code, analysis in ANALYSES.items()}
ENGLISH = ANALYSES["en"]

# Three-letter codes (ISO 639-2/3) and names people write in frontmatter, by language subtag.
_ALIASES = {
    "eng": "en", "english": "en", "spa": "es", "spanish": "es", "español": "es",
    "espanol": "es", "deu": "de", "ger": "de", "german": "de", "deutsch": "de", "fra": "fr",
    "fre": "fr", "french": "fr", "français": "fr", "francais": "fr", "por": "pt",
    "portuguese": "pt", "português": "pt", "portugues": "pt", "ita": "it", "italian": "it",
    "italiano": "it", "nld": "nl", "dut": "nl", "dutch": "nl", "rus": "ru", "russian": "ru",
    "zho": "zh", "chi": "zh", "chinese": "zh", "cmn": "zh", "jpn": "ja", "japanese": "ja",
    "kor": "ko", "korean": "ko", "ara": "ar", "arabic": "ar", "hin": "hi", "hindi": "hi",
    "tur": "tr", "turkish": "tr", "pol": "pl", "polish": "pl", "swe": "sv", "swedish": "sv",
    "nb": "no", "nn": "no", "nob": "no", "nno": "no", "nor": "no", "norwegian": "no",
    "fin": "fi", "finnish": "fi", "dan": "da", "danish": "da", "ces": "cs", "cze": "cs",
    "czech": "cs", "ell": "el", "gre": "el", "greek": "el", "per": "fa", "fas": "fa",
    "persian": "fa", "farsi": "fa", "iw": "he", "in": "id", "ind": "id",
}  # fmt: skip
# A BCP 47 tag as people write it: language, then script, region or variants (`pt_BR`, `zh-hans`).
_TAG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


def normalize_tag(value: object) -> str | None:
    """A language tag in BCP 47's case (`pt-BR`, `zh-Hans-CN`, `sr-Latn`), a name or a
    three-letter code read as its two-letter tag (`Deutsch` → `de`); None when it is no tag."""
    text = str(value).strip() if value is not None else ""
    lowered = text.lower()
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    if not _TAG.fullmatch(text):
        return None
    first, *rest = re.split(r"[-_]", text)
    parts = [_ALIASES.get(first.lower(), first.lower())]
    for part in rest:
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())  # script
        elif (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit()):
            parts.append(part.upper())  # region
        else:
            parts.append(part.lower())
    return "-".join(parts)


def analysis_of(tag: str | None) -> Analysis:
    """The analysis for a page or query in language `tag` (English when None)."""
    if not tag:
        return ENGLISH
    primary = tag.split("-")[0].lower()
    return ANALYSES.get(_ALIASES.get(primary, primary), ANALYSES["und"])


def field_analysis(fieldname: str) -> Analysis:
    """The language of a text field, from its suffix (`body_de`: German; `body`: English)."""
    _, _, suffix = fieldname.rpartition("_")
    return ANALYSES.get(suffix, ENGLISH) if "_" in fieldname else ENGLISH


# ------------------------------------------------------------------------------------ scripts

# Scripts written without spaces between words, each run indexed as overlapping pairs of
# characters (Lucene's CJK bigrams): Han ideographs, Hiragana, Katakana (with its long-vowel
# mark) and Hangul, and Thai, Lao, Khmer and Myanmar, which have no segmenter here either.
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"  # Hiragana, Katakana, half-width Katakana
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"
_THAI = "\u0e00-\u0e7f"
_LAO_KHMER_MYANMAR = "\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f"


# Compiled on first use (their ranges of CJK characters take ~8 ms to compile): a query or page
# in ASCII never needs them.
@lru_cache(maxsize=1)
def _unspaced_run() -> re.Pattern[str]:
    return re.compile(f"[{_KANA}{_HAN}{_HANGUL}{_THAI}{_LAO_KHMER_MYANMAR}]+")


@lru_cache(maxsize=1)
def _scripts() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return (
        ("Kana", re.compile(f"[{_KANA}]")),
        ("Hangul", re.compile(f"[{_HANGUL}]")),
        ("Han", re.compile(f"[{_HAN}]")),
        ("Cyrillic", re.compile("[\u0400-\u04ff]")),
        ("Arabic", re.compile("[\u0600-\u06ff\u0750-\u077f]")),
        ("Devanagari", re.compile("[\u0900-\u097f]")),
        ("Greek", re.compile("[\u0370-\u03ff]")),
        ("Hebrew", re.compile("[\u0590-\u05ff]")),
        ("Armenian", re.compile("[\u0530-\u058f]")),
        ("Tamil", re.compile("[\u0b80-\u0bff]")),
        ("Thai", re.compile(f"[{_THAI}]")),
        ("Latin", re.compile("[A-Za-z\u00c0-\u024f]")),
    )


def scripts_of(text: str) -> list[str]:
    """The scripts `text` is written in, the most telling first (Kana before Han: Japanese
    writes both, Chinese only Han)."""
    if text.isascii():
        return ["Latin"] if any(char.isalpha() for char in text) else []
    return [name for name, pattern in _scripts() if pattern.search(text)]


def has_unspaced(word: str) -> bool:
    """Whether `word` has characters of a script written without spaces (CJK, Thai, ...)."""
    return not word.isascii() and _unspaced_run().search(word) is not None


def bigrams(run: str) -> list[str]:
    """Overlapping pairs of characters of an unspaced run; a run of one character is itself."""
    if len(run) < 2:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def split_scripts(word: str) -> list[tuple[str, int, int, bool]]:
    """(part, start, end, unspaced) of a word: runs of unspaced scripts' characters apart from
    the rest (`git提交` → `git`, `提交`), so each is analysed as what it is."""
    if word.isascii():
        return [(word, 0, len(word), False)] if word else []
    parts: list[tuple[str, int, int, bool]] = []
    at = 0
    for run in _unspaced_run().finditer(word):
        if run.start() > at:
            parts.append((word[at : run.start()], at, run.start(), False))
        parts.append((run.group(), run.start(), run.end(), True))
        at = run.end()
    if at < len(word):
        parts.append((word[at:], at, len(word), False))
    return parts


# -------------------------------------------------------------------------------------- folding


@lru_cache(maxsize=32_768)
def fold(word: str, keep: str = "") -> str:
    """`word` without its accents (combining marks), but for the letters in `keep`; ё is е."""
    if word.isascii():
        return word
    out = []
    for char in word:
        if char in keep:
            out.append(char)
            continue
        decomposed = unicodedata.normalize("NFD", char)
        out.append("".join(c for c in decomposed if not unicodedata.combining(c)) or char)
    return unicodedata.normalize("NFC", "".join(out))


# ------------------------------------------------------------------------------------ detection

# A page's language is told from its text only when it has this many letters, and taken only when
# the detector is this sure: a wrong guess would analyse the page as another language.
DETECT_MIN_LETTERS = 40
DETECT_CONFIDENCE = 0.9
DETECT_CHARS = 3000  # the text read: a page's opening says its language


# The detector's model as kept in this user's cache (`_model_cache`): one file an array, which a
# query maps rather than reads (it touches a few rows of each), and the languages' names.
_MODEL_ARRAYS = ("nb_ptc", "nb_pc", "tk_nextmove", "tk_row", "tk_output")
_MODEL_LAYOUT = 2  # bump when what is kept changes


@lru_cache(maxsize=2)
def _identifier(mapped: bool = False) -> Any:
    """langid.py's model (py3langid), loaded on first use: ~0.6 s from the LZMA file it ships, a
    few ms from this user's copy of its arrays (`_model_cache`), written the first time.
    `mapped`: the state table is mapped, not copied (~25 ms less to load, a third the speed
    walking text: for a query's few words, not a page's thousands)."""
    import numpy as np
    from py3langid import langid, modelio

    shipped = (langid.MODEL_DIR / langid.MODEL_FILE).stat()
    code = Path(langid.__file__).stat()
    key = f"{_MODEL_LAYOUT}-{shipped.st_size}-{shipped.st_mtime_ns}-{code.st_mtime_ns}"
    folder = _model_cache(f"py3langid-{key}")
    model = None
    if folder is not None and folder.is_dir() and _private(folder.stat()):
        with contextlib.suppress(OSError, ValueError):
            arrays = {
                name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
                for name in _MODEL_ARRAYS
            }
            classes = (folder / "nb_classes.txt").read_text(encoding="utf-8").split("\n")
            if arrays["nb_pc"].shape == (len(classes),) == arrays["nb_ptc"].shape[1:]:
                model = (arrays, classes)
        if model is None:  # damaged (a disk that filled, an edit): written anew below
            shutil.rmtree(folder, ignore_errors=True)
    if model is None:
        ptc, pc, classes, nextmove, row, output = modelio.load_model(
            langid.MODEL_DIR / langid.MODEL_FILE
        )
        arrays = {
            "nb_ptc": np.asarray(ptc),
            "nb_pc": np.asarray(pc),
            "tk_nextmove": np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}"),
            "tk_row": np.frombuffer(row, dtype=f"u{row.itemsize}"),
            "tk_output": np.asarray(output, dtype=np.int32),
        }
        model = (arrays, list(classes))
        if folder is not None:
            _keep(arrays, model[1], folder)
    arrays, classes = model
    nextmove = arrays["tk_nextmove"] if mapped else _stdlib_array(arrays["tk_nextmove"])
    return langid.LanguageIdentifier(
        arrays["nb_ptc"],
        np.array(arrays["nb_pc"]),
        classes,
        nextmove,
        arrays["tk_output"].tolist(),
        norm_probs=True,
        tk_row=arrays["tk_row"].tolist(),
    )


def _stdlib_array(values: Any) -> array[int]:
    """A numpy array of unsigned integers as a stdlib array (what the detector walks fastest)."""
    out = array({2: "H", 4: "I", 8: "Q"}[values.dtype.itemsize])
    out.frombytes(memoryview(values).cast("B"))
    return out


def _keep(arrays: dict[str, Any], classes: list[str], folder: Path) -> None:
    """Write the model's arrays into a new folder, then rename it to `folder`: a reader never
    sees half of it; where it cannot be written, nothing is (the next process reads the
    shipped file)."""
    import numpy as np

    written: Path | None = None
    try:
        written = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".writing-"))
        for name, values in arrays.items():
            np.save(written / f"{name}.npy", values, allow_pickle=False)
        (written / "nb_classes.txt").write_text("\n".join(classes), encoding="utf-8")
        os.rename(written, folder)  # fails if another process kept it first: theirs stays
    except OSError:
        if written is not None:
            shutil.rmtree(written, ignore_errors=True)
        return
    for old in folder.parent.glob("py3langid-*"):  # an earlier py3langid's, or layout's
        if old == folder:
            continue
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                old.unlink()


def _model_cache(name: str) -> Path | None:
    """Where this user keeps the detector's model ready to load (`$XDG_CACHE_HOME/kbsearch`,
    else `~/.cache/kbsearch`); None unless that folder is this user's own and nobody else can
    write to it (what is read from there decides how pages are analysed)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "kbsearch"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(folder.stat()):
            return None
    except OSError:
        return None
    return folder / name


def _private(status: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else."""
    return status.st_uid == os.getuid() and not status.st_mode & 0o022


def detect_text_language(text: str) -> str | None:
    """The language tag of a text, or None when it is too short or the detector is unsure."""
    text = text[:DETECT_CHARS]
    if sum(char.isalpha() for char in text) < DETECT_MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(text)
    return normalize_tag(code) if confidence >= DETECT_CONFIDENCE else None


def text_language_odds(text: str, languages: tuple[str, ...]) -> dict[str, float]:
    """The detector's probability of each of `languages` for a short text (a query), among
    those languages only; empty when it knows none of them."""
    identifier = _identifier(mapped=True)
    known = [code for code in languages if code in identifier.nb_classes]
    if len(known) < 2:
        return {}
    ranked = dict(identifier.rank(text))  # probabilities
    odds = {code: float(ranked[code]) for code in known}
    total = sum(odds.values()) or 1.0
    return {code: max(odds[code] / total, 1e-6) for code in known}
