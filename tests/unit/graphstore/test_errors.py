"""graphstore.errors is the one error tree: every error is defined there, under GraphStoreError,
drawn in the docstring, and re-exported (not redefined) where it used to live."""

from __future__ import annotations

import inspect

from graphstore import analytics, blobstore, errors, mapper, retention, retrieval

CLASSES = {name: cls for name, cls in vars(errors).items()
           if inspect.isclass(cls) and issubclass(cls, Exception)}


def test_every_error_is_under_the_root_and_drawn_in_the_docstring():
    """Each class derives from GraphStoreError and appears in the module's tree drawing."""
    assert len(CLASSES) >= 14
    for name, cls in CLASSES.items():
        assert issubclass(cls, errors.GraphStoreError), name
        assert name in (errors.__doc__ or ""), name


def test_old_homes_re_export_the_same_classes():
    """mapper, blobstore and retrieval hand out the classes of errors.py, not copies."""
    assert mapper.MappingError is errors.MappingError
    assert mapper.WriteSetTooLarge is errors.WriteSetTooLarge
    for name in ("BlobStoreError", "BlobNotFound", "BlobCorrupted", "BlobStoreConfigError"):
        assert getattr(blobstore, name) is getattr(errors, name)
    assert retrieval.RetrievalIndexMissing is errors.RetrievalIndexMissing
    assert analytics.InvalidAnalyticsQuery is errors.InvalidAnalyticsQuery


def test_no_module_defines_its_own_exception():
    """No graphstore module but errors.py defines an exception class."""
    for module in (analytics, blobstore, mapper, retention, retrieval):
        own = [name for name, obj in vars(module).items()
               if inspect.isclass(obj) and issubclass(obj, Exception)
               and obj.__module__ == module.__name__]
        assert not own, (module.__name__, own)


def test_replaced_builtins_still_catch():
    """Errors that replace a built-in are still that built-in for older callers."""
    assert issubclass(errors.MappingError, ValueError)
    assert issubclass(errors.InvalidBatchSize, ValueError)
    assert issubclass(errors.InvalidAnalyticsQuery, ValueError)
    assert issubclass(errors.RunNotFound, LookupError)
    assert issubclass(errors.FormulationNotFound, LookupError)


def test_messages_say_what_happened_and_what_to_do():
    """Messages are full sentences with the way out."""
    assert str(errors.InvalidBatchSize(0)).startswith("batch_size must be at least 1, got 0;")
    assert "manage.py formulation" in str(errors.FormulationNotFound("f-1"))
    assert str(errors.RunNotFound("r-1")) == "No persisted run has the runId 'r-1'."
    assert "install_graph_schema" in str(errors.RetrievalIndexMissing(RuntimeError("x")))


def test_an_unreadable_blob_is_a_damaged_run_of_the_tree():
    """A missing or corrupted blob on replay is a ReplayError naming the run, the blob and the
    way out, with the code the API answers."""
    missing = errors.RunBlobMissing("run-1", "file:///b/ab/ab12", "ab12")
    assert isinstance(missing, errors.ReplayError) and missing.code == "blob_missing"
    assert str(missing).startswith("Run run-1 is committed in Neo4j, but its cypherCommands "
                                   "blob is missing from the blob store (file:///b/ab/ab12")
    assert "Restore the blob" in str(missing)
    corrupted = errors.RunBlobCorrupted("run-1", "file:///b/ab/ab12", "ab12",
                                        errors.BlobCorrupted("file:///b/ab/ab12", "ab12", "cd34"))
    assert isinstance(corrupted, errors.RunBlobUnreadable) and corrupted.code == "blob_corrupted"
    assert "cd34" in str(corrupted) and corrupted.run_id == "run-1"
