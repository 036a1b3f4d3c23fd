"""Write the student build of the course: the repository without the teacher's side.

``python -m tools.student_build [DEST]`` (``make student``) copies every file
git tracks (``git ls-files``: no virtualenv, no build output) except
``TEACHER_ONLY``, into ``DEST`` (default ``build/alumno``), ready to publish as
the students' repository (its Binder badge then launches a course without
answers). The reference solutions and answer keys stay in ``teacher/``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Paths (folders end with "/") that a student must not get.
TEACHER_ONLY = ("teacher/", "requirements-teacher.txt", "docs/guia_docente.md")


def student_files(root: Path = ROOT) -> list[str]:
    """The tracked files of ``root`` that go into the student build, sorted."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    files = [name for name in listed.decode().split("\0") if name]
    return sorted(name for name in files
                  if not any(name == p or (p.endswith("/") and name.startswith(p)) for p in TEACHER_ONLY)
                  and (root / name).exists() and not _needs_teacher(root / name))


def _needs_teacher(path: Path) -> bool:
    """A test that imports the teacher's side (it proves the checkers with the
    solutions) stays with the teacher: without it the student's ``make test`` runs."""
    if path.suffix != ".py" or path.parent.name != "tests":
        return False
    text = path.read_text(encoding="utf-8")
    return "from teacher" in text or "import teacher" in text


def build(dest: Path, root: Path = ROOT) -> list[str]:
    """Copy the student files of ``root`` into ``dest`` (emptied first); returns them."""
    dest = dest.resolve()
    if dest == root.resolve() or dest in root.resolve().parents:
        raise ValueError(f"refusing to write the student build over {dest}")
    if dest.exists():
        shutil.rmtree(dest)
    files = student_files(root)
    for name in files:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return files


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", nargs="?", default=str(ROOT / "build" / "alumno"))
    args = parser.parse_args(argv)
    files = build(Path(args.dest))
    print(f"{len(files)} archivos en {args.dest} (sin {', '.join(TEACHER_ONLY)})", file=sys.stderr)


if __name__ == "__main__":
    main()
