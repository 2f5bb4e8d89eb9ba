#!/usr/bin/env python3
"""docker's long flags on the verbs box offers, and what box does with each: docs/flags.md.

    python3 scripts/flags-table.py > docs/flags.md          # after a build: regenerate the table
    python3 scripts/flags-table.py --check docs/flags.md    # what the test does: regenerate and compare

It reads `box --help` for box's verbs (and `box NOUN --help` for management forms such as `network ls`), then
`docker VERB --help` and `box VERB --help` for each verb docker also has. A docker flag box's help lists is
implemented; one listed under box's REFUSED section, or whose help says "Refused: REASON", is refused, with that
reason; one box's help does not list is unknown. Where the docker CLI is missing or is not the version the committed table was
made with, --check compares box's side only (every flag the table lists is still what the table says it is
in box), and says so.
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFUSED_TITLE = "REFUSED"  # box's help section of refused flags starts with this word
REFUSED_HELP = r"Refused\b[^:]*:(.*)"  # or a flag's help text ("Refused: REASON"), where a verb declares them among the others
LABEL = re.compile(r"^\s{1,8}(-[^\s].*?)(?:\s{2,}(.*))?$")


def run(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, COLUMNS="200", NO_COLOR="1"))
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout if p.returncode == 0 else None


def sections(text):
    """[(SECTION TITLE, [line...])] of a help screen. A title is an unindented line that ends in ':' (docker's
    "Options:") or starts with capitals and ':' (ArgumentParser's "OPTIONS:", "USAGE: box ...")."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^([A-Z][A-Z0-9 ,()'/-]*):(\s|$)", line) or re.match(r"^([A-Z][^\s].*):$", line)
        if m:
            out.append((m.group(1).strip(), []))
        elif out:
            out[-1][1].append(line)
    return out


def options(lines, column=None):
    """{long name: help text} of one section's options; a help text wrapped over lines is joined. `column`:
    where help text starts (ArgumentParser pads a label that fits to column 26, leaving one space at least)."""
    found, current = {}, None
    for line in lines:
        m = LABEL.match(line)
        if m:
            label, text = m.group(1), m.group(2)
            if column is not None:
                fits = len(line) > column and line[column - 1] == " "
                label, text = (line[:column], line[column:]) if fits else (line, None)
            names = re.findall(r"--([a-z0-9][a-z0-9-]*)", label.strip().split("  ")[0])
            current = [text or ""]
            for name in names:
                found[name] = current
        elif current is not None and line.strip():
            current.append(line.strip())
        else:
            current = None
    return {name: " ".join(part for part in text if part).strip() for name, text in found.items()}


def docker_help(verb):
    """`docker VERB --help`, or None if docker has no such verb (it then prints its parent's help)."""
    text = run(["docker"] + verb.split() + ["--help"])
    if text is None or not re.search(r"^Usage:\s+docker " + re.escape(verb) + r"( |$)", text, re.M):
        return None
    return text


def docker_flags(verb):
    text = docker_help(verb)
    if text is None:
        return None
    flags = {}
    for title, lines in sections(text):
        if title in ("Options", "Flags"):
            flags.update(options(lines))
    flags.pop("help", None)
    return sorted(flags)


def box_flags(box, verb):
    """({flag: None}, {flag: reason}) from box's help: implemented ones, refused ones."""
    text = run([box] + verb.split() + ["--help"])
    if text is None:
        return None
    implemented, refused = {}, {}
    usage = False  # what comes before USAGE is the verb's discussion, whatever it looks like
    for title, lines in sections(text):
        usage = usage or title == "USAGE"
        if not usage:
            continue
        found = options(lines, column=26)
        if title.startswith(REFUSED_TITLE):
            refused.update(found)
        elif title not in ("USAGE", "SUBCOMMANDS", "ARGUMENTS", "OVERVIEW"):
            for name, text in found.items():
                # run/create declare theirs among the others, their help saying "Refused: REASON".
                m = re.match(REFUSED_HELP, text)
                if m:
                    refused[name] = m.group(1).strip()
                else:
                    implemented[name] = text
    for name in ("help", "version"):
        implemented.pop(name, None)
    return implemented, refused


def subcommands(box, words):
    text = run([box] + words + ["--help"]) or ""
    names = []
    for title, lines in sections(text):
        if title == "SUBCOMMANDS":
            for line in lines:
                m = re.match(r"^\s{2,6}([a-z][a-z0-9-]*)\b", line)
                if m:
                    names.append(m.group(1))
    return names


def verbs(box):
    """box's verbs that docker has too: top-level ones, and NOUN VERB for management commands."""
    out = []
    for verb in subcommands(box, []):
        if verb == "help":
            continue
        nested = [v for v in subcommands(box, [verb]) if v != "help"]
        if docker_help(verb) is None:
            continue
        if not nested:
            out.append(verb)
        for sub in nested:
            if docker_help(verb + " " + sub) is not None:
                out.append(verb + " " + sub)
    return out


def docker_version():
    text = run(["docker", "--version"]) or ""
    m = re.search(r"version ([0-9][^ ,]*)", text)
    return m.group(1) if m else None


def cell(text):
    return text.replace("|", "\\|")


def table(box):
    version = docker_version()
    if version is None:
        sys.exit("flags-table: the docker CLI is missing: the table is made from `docker VERB --help`")
    rows, per_verb = [], []
    for verb in verbs(box):
        theirs = docker_flags(verb) or []
        ours = box_flags(box, verb)
        if ours is None:
            sys.exit(f"flags-table: `{box} {verb} --help` failed")
        implemented, refused = ours
        counts = {"implemented": 0, "refused": 0, "unknown": 0}
        for flag in theirs:
            if flag in implemented:
                state, why = "implemented", ""
            elif flag in refused:
                state, why = "refused", refused[flag]
            else:
                state, why = "unknown", ""
            counts[state] += 1
            rows.append((verb, flag, state, why))
        per_verb.append((verb, len(theirs), counts))
    total = {k: sum(c[k] for _, _, c in per_verb) for k in ("implemented", "refused", "unknown")}
    n = sum(t for _, t, _ in per_verb)
    out = [
        "# docker's flags in box",
        "",
        "<!-- Generated: do not edit. After changing a verb's flags, build, then regenerate with",
        "     python3 scripts/flags-table.py > docs/flags.md",
        "     (FlagsTableTests regenerates it and compares with this file.) -->",
        "",
        f"Made from `docker VERB --help` of docker {version} and `box VERB --help`, for each of docker's verbs box",
        "offers. A flag is *implemented* if box's help lists it, *refused* if box's help lists it under REFUSED (using",
        "it is an error giving the reason, exit status 125), and *unknown* otherwise.",
        "",
        f"docker-version: {version}",
        "",
        f"**Total: {n} docker long flags on {len(per_verb)} verbs: {total['implemented']} implemented, "
        f"{total['refused']} refused, {total['unknown']} unknown.**",
        "",
        "| verb | docker's flags | implemented | refused | unknown |",
        "|---|---:|---:|---:|---:|",
    ]
    for verb, count, c in per_verb:
        out.append(f"| {verb} | {count} | {c['implemented']} | {c['refused']} | {c['unknown']} |")
    out += ["", "## Every flag", "", "| verb | flag | box | reason |", "|---|---|---|---|"]
    for verb, flag, state, why in rows:
        out.append(f"| {verb} | --{flag} | {state} | {cell(why)} |")
    return "\n".join(out) + "\n"


def parse_rows(text):
    rows = []
    for line in text.splitlines():
        m = re.match(r"^\| ([a-z][a-z -]*?) \| --([a-z0-9-]+) \| (implemented|refused|unknown) \| (.*) \|$", line)
        if m:
            rows.append((m.group(1), m.group(2), m.group(3), m.group(4).replace("\\|", "|")))
    return rows


def check(box, path):
    committed = open(path).read()
    m = re.search(r"^docker-version: (\S+)$", committed, re.M)
    version = docker_version()
    if version is not None and m and m.group(1) == version:
        fresh = table(box)
        if fresh == committed:
            print(f"{path} is up to date (docker {version})")
            return 0
        import difflib
        sys.stdout.writelines(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True),
                                                   path, "regenerated"))
        print("\nthe table is stale: python3 scripts/flags-table.py > docs/flags.md")
        return 1
    why = "the docker CLI is missing" if version is None else \
        f"docker here is {version}, the table was made with {m.group(1) if m else 'an unknown version'}"
    print(f"{why}: comparing box's side only")
    wrong, helps = [], {}
    for verb, flag, state, why_refused in parse_rows(committed):
        if verb not in helps:
            helps[verb] = box_flags(box, verb)
        if helps[verb] is None:
            wrong.append(f"box {verb} --help failed")
            continue
        implemented, refused = helps[verb]
        now = "implemented" if flag in implemented else "refused" if flag in refused else "unknown"
        if now != state or (now == "refused" and refused[flag] != why_refused):
            wrong.append(f"{verb} --{flag}: the table says {state}, box's help says {now}")
    for line in wrong:
        print(line)
    if wrong:
        print("the table is stale: python3 scripts/flags-table.py > docs/flags.md (with docker's CLI)")
    return 1 if wrong else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--box", default=os.path.join(ROOT, ".build", "debug", "box"), help="the box binary")
    parser.add_argument("--check", metavar="TABLE", help="compare with this table instead of printing one")
    args = parser.parse_args()
    if args.check:
        sys.exit(check(args.box, args.check))
    sys.stdout.write(table(args.box))


if __name__ == "__main__":
    main()
