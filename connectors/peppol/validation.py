"""EN 16931 validation: the official compiled Schematron (XSLT 2.0) run by SaxonC-HE.

The stylesheet is compiled once per process (about a second) and then takes milliseconds per
document. Its SVRL output lists each failed rule with its id (BR-CO-15, ...), flag (``fatal``
or ``warning``), location and text; those become the draft's findings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree
from saxonche import PySaxonApiError, PySaxonProcessor

RULES = Path(__file__).parent / "rules" / "EN16931-UBL-validation.xslt"
SVRL = "{http://purl.oclc.org/dsdl/svrl}"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Finding:
    rule_id: str
    flag: str  # fatal | warning
    location: str | None
    text: str


def validation_state(findings: list[Finding]) -> str:
    flags = {f.flag for f in findings}
    return "fatal" if "fatal" in flags else "warnings" if flags else "valid"


@cache
def _compiled() -> tuple[Any, Any]:
    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(RULES))
    return processor, executable


def validate(document: str) -> list[Finding]:
    """The EN 16931 findings for one document (text of an already safely parsed document)."""
    with _LOCK:  # one SaxonC processor per process, used by one caller at a time
        processor, executable = _compiled()
        try:
            svrl = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=document))
        except PySaxonApiError as exc:
            return [Finding("VALIDATION", "fatal", None, f"the EN 16931 rules could not run: {exc}")]
    return _findings(svrl or "")


def _findings(svrl: str) -> list[Finding]:
    report = etree.fromstring(svrl.encode())
    return [
        Finding(
            rule_id=node.get("id") or "?",
            flag=node.get("flag") or "fatal",
            location=node.get("location"),
            text=" ".join("".join(node.itertext()).split()),
        )
        for node in report.iter(f"{SVRL}failed-assert", f"{SVRL}successful-report")
    ]
