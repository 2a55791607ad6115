// Tests switch the process-wide vector path (VectorPaths.Use); running them one at a time keeps each test's path its own.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
