"""A run's programs in a form that compares across archives (program ids replaced by positions)."""

from __future__ import annotations

from archive import Archive, Split


def portable_history(archive_url: str, run_id: int
                     ) -> list[tuple[str, float | None, int | None, int]]:
    """(code, training score, position of the original if a duplicate, generation) per program.

    Program ids are global to an archive (runs sharing one interleave them), so
    a duplicate points at its original's position within the run instead.
    """
    with Archive.open(archive_url) as archive:
        state = archive.run_state(run_id)
    position = {ps.id: k for k, ps in enumerate(state.programs)}
    return [(ps.program.code,
             ps.evaluations[Split.TRAIN].score if Split.TRAIN in ps.evaluations else None,
             position[ps.duplicate_of] if ps.duplicate_of is not None else None,
             ps.program.generation)
            for ps in state.programs]
