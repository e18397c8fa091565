"""A synthetic office corpus for the benchmarks: prose from a vocabulary, reproducible from a
seed, in every format the product reads (Markdown, text, PDF, HTML, DOCX).

Real documents cannot ship with the repo; these have the shape that matters for speed
(paragraph lengths, headings, pages) and enough distinct names for retrieval to be real.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

W = {
    "team": "platform team|finance office|support desk|research group|legal department|"
    "sales team|security team|data team|facilities office|training unit",
    "place": "Berlin|Lyon|Toronto|Osaka|Leeds|Porto|Austin|Gdansk|Nairobi|Lima",
    "product": "Atlas|Beacon|Cobalt|Delta|Ember|Falcon|Granite|Harbor|Juniper|Kestrel",
    "person": "Amira Haddad|Jonas Berg|Priya Nair|Tomás Ruiz|Mei Chen|Olu Adeyemi|Ravi Kumar",
    "subject": "the quarterly budget|the migration plan|the vendor contract|the onboarding "
    "guide|the backup policy|the travel rules|the pricing model|the release checklist|"
    "the incident review|the hiring plan|the data retention rule|the laptop refresh",
    "verb": "approved|reviewed|postponed|rolled out|documented|audited|simplified|replaced",
    "reason": "the old process was too slow|customers asked for clearer pricing|the licence "
    "terms changed|the servers reached end of life|an audit found gaps in the logs|two teams "
    "had duplicated the work|costs had doubled since the last review|new staff found the "
    "old guide confusing",
    "month": "January|February|March|April|May|June|July|August|September|October|November|"
    "December",
    "period": "week|month|quarter|year",
}
SENTENCES = [
    "In {month} {year}, the {team} in {place} {verb} {subject} for {product}.",
    "{person} said that {subject} would cost about {num} euros per {period}.",
    "After a long review, {subject} was {verb} because {reason}.",
    "The {product} rollout reached {num} users across {small} offices by {month}.",
    "Questions about {subject} go to the {team}, which answers within {small} working days.",
    "Because {reason}, the {team} {verb} {subject} again in {year}.",
    "Ticket {ticket} records that {product} version {small}.{year} was {verb} in {place}.",
    "{person} from the {team} keeps the notes on {subject} and updates them every {period}.",
]
QUESTIONS = [
    "When did the {team} in {place} approve {subject}?",
    "How many users did the {product} rollout reach by {month}?",
    "What did {person} say about the cost of {subject}?",
    "Why was {subject} {verb}?",
    "Which version of {product} was {verb} in {place}?",
]


def _fill(template: str, rng: random.Random) -> str:
    words = {k: rng.choice(v.split("|")) for k, v in W.items()}
    num, small, ticket = f"{rng.randint(120, 98000):,}", rng.randint(2, 12), rng.randint(1, 10**5)
    text = template.format(
        **words, year=rng.randint(2018, 2025), num=num, small=small, ticket=f"INC-{ticket}"
    )
    return text[0].upper() + text[1:]


def paragraph(rng: random.Random, min_chars: int = 250) -> str:
    sentences: list[str] = []
    while sum(map(len, sentences)) < min_chars:
        sentences.append(_fill(rng.choice(SENTENCES), rng))
    return " ".join(sentences)


def write_corpus(folder: Path, files: int, seed: int) -> None:
    """Half Markdown with headings (heading anchors), half plain text (line anchors)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for i in range(files):
        md = i % 2 == 1
        title = f"{rng.choice(W['product'].split('|'))} notes {i}"
        parts = [f"# {title}" if md else title]
        for s in range(rng.randint(3, 6)):
            parts += [f"## {_fill('{subject} in {place}', rng)} ({s + 1})"] if md else []
            parts += [paragraph(rng) for _ in range(rng.randint(3, 6))]
        (folder / f"doc{i:04}.{'md' if md else 'txt'}").write_text("\n\n".join(parts))


def write_mixed_corpus(folder: Path, files: int, seed: int, paragraphs: tuple[int, int]) -> None:
    """`files` documents: 40% Markdown, 25% text, 15% PDF (one page per section), 12% HTML,
    8% DOCX; each with 3-6 sections of `paragraphs` (min, max) paragraphs."""
    import docx

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from support.pdfs import text_pdf  # the tests' builder of real PDFs

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    kinds = ["md"] * 40 + ["txt"] * 25 + ["pdf"] * 15 + ["html"] * 12 + ["docx"] * 8
    for i in range(files):
        kind = kinds[i % len(kinds)]
        title = f"{rng.choice(W['product'].split('|'))} notes {i}"
        sections = [
            (
                _fill("{subject} in {place}", rng),
                [paragraph(rng) for _ in range(rng.randint(*paragraphs))],
            )
            for _ in range(rng.randint(3, 6))
        ]
        path = folder / f"{kind}{i:05}.{kind}"
        if kind == "md":
            body = [f"# {title}"] + [f"## {h}\n\n" + "\n\n".join(ps) for h, ps in sections]
            path.write_text("\n\n".join(body))
        elif kind == "txt":
            path.write_text("\n\n".join([title] + [p for _, ps in sections for p in ps]))
        elif kind == "pdf":  # PDF lines do not wrap: one sentence per line
            pages = ["\n".join(p.replace(". ", ".\n") for p in ps) for _, ps in sections]
            path.write_bytes(text_pdf(pages))
        elif kind == "html":
            body = "".join(
                f"<h2>{h}</h2>" + "".join(f"<p>{p}</p>" for p in ps) for h, ps in sections
            )
            path.write_text(
                f"<html><head><title>{title}</title><style>p{{}}</style></head>"
                f"<body><nav>Home | Search</nav><h1>{title}</h1>{body}</body></html>"
            )
        else:
            document = docx.Document()
            document.add_heading(title, level=0)
            for h, ps in sections:
                document.add_heading(h, level=1)
                for p in ps:
                    document.add_paragraph(p)
            document.save(str(path))
