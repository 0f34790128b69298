"""What the pipeline refuses to do with a data directory it was handed.

- A symbolic link whose target lies outside the data directory is refused: a folder shared with
  several people must not let one of them make the run read (and publish in its figures) any file
  of the machine. `[securite] liens_externes = true` in achats.toml, `achats run
  --autoriser-liens` or ACHATS_LIENS_EXTERNES=1 allow them for a buyer who links to a shared stock.
- An archive is unpacked with a size limit (`[securite] taille_max_archive_go`, 20 Go by default,
  more than the national SIRENE stocks), counted while unpacking rather than trusted from the
  archive's header, and never beyond the free disk space: a small zip cannot fill the disk.
"""

from __future__ import annotations

import os
import shutil
import zipfile
import zlib
from pathlib import Path

from achats.errors import InputError
from achats.formatting import number_fr

LINKS_ENV = "ACHATS_LIENS_EXTERNES"
DEFAULT_MAX_ARCHIVE_GB = 20.0
_CHUNK = 1 << 20


def links_allowed(setting: bool = False) -> bool:
    return setting or os.environ.get(LINKS_ENV, "").strip().lower() in ("1", "oui", "true", "yes")


def _inside(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
    except ValueError:
        return False
    return True


def outside_links(folder: Path, base: Path | None = None) -> list[tuple[Path, Path]]:
    """(link, target) for every symbolic link under `folder` (itself included) that leads outside
    `base` (default: `folder`). Linked folders are not walked into: the link itself is judged."""
    base = (base or folder).resolve()
    if not folder.exists() and not folder.is_symlink():
        return []
    found = []
    candidates = [folder] if folder.is_symlink() else []
    if folder.is_dir():
        for root, dirs, files in os.walk(folder, followlinks=False):
            candidates += [Path(root) / n for n in dirs + files if (Path(root) / n).is_symlink()]
    for link in candidates:
        target = link.resolve()
        if not _inside(target, base):
            found.append((link, target))
    return found


def check_links(folder: Path, base: Path | None = None, allow: bool = False) -> None:
    """Stop with a French message naming the first link that leaves the data directory."""
    if links_allowed(allow):
        return
    bad = outside_links(folder, base)
    if bad:
        base_dir = (base or folder).resolve()
        link, target = bad[0]
        shown = os.path.relpath(link.absolute(), (base or folder).absolute())
        more = f" (et {len(bad) - 1} autre(s) lien(s))" if len(bad) > 1 else ""
        raise InputError(
            f"Lien symbolique refusé : « {shown} » mène hors du dossier de données ({base_dir}), vers « {target} »"
            f"{more}. Copiez le fichier dans le dossier, ou autorisez explicitement ces liens : "
            f"[securite] liens_externes = true dans achats.toml, l'option --autoriser-liens, "
            f"ou la variable d'environnement {LINKS_ENV}=1.")


def unpack_member(archive: Path, member: str, into: Path, max_bytes: float, shown: str | None = None) -> Path:
    """Unpack one member of a zip into `into`, counting the bytes written: stop at `max_bytes`
    (whatever the archive claims) and before filling the disk."""
    shown = shown or archive.name
    limit_text = f"{number_fr(max_bytes / 1e9, 1, ' ')} Go"
    hint = ("Décompressez-le vous-même si vous lui faites confiance, ou relevez la limite dans achats.toml : "
            "[securite] taille_max_archive_go.")
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo(member)
        if info.file_size > max_bytes:
            raise InputError(f"{shown} : l'archive annonce {number_fr(info.file_size / 1e9, 1, ' ')} Go une fois "
                             f"décompressée, au-delà de la limite de {limit_text}. {hint}")
        free = shutil.disk_usage(into).free
        if info.file_size > free:
            raise InputError(f"{shown} : pas assez de place pour décompresser l'archive "
                             f"({number_fr(info.file_size / 1e9, 1, ' ')} Go nécessaires, "
                             f"{number_fr(free / 1e9, 1, ' ')} Go libres dans {into}).")
        target = into / Path(member).name  # never a path taken from the archive (../../…)
        written = 0
        try:
            with zf.open(info) as src, target.open("wb") as dst:
                while block := src.read(_CHUNK):
                    written += len(block)
                    if written > max_bytes:
                        raise InputError(f"{shown} : l'archive dépasse {limit_text} une fois décompressée "
                                         f"(elle annonçait {number_fr(info.file_size / 1e6, 1, ' ')} Mo). {hint}")
                    dst.write(block)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            target.unlink(missing_ok=True)
            raise InputError(f"{shown} : archive endommagée (son contenu ne correspond pas à ce qu'elle annonce) : "
                             "téléchargez-la de nouveau.") from exc
        except BaseException:
            target.unlink(missing_ok=True)
            raise
    return target
