// Kernel policies are arguments, not process-wide state: test classes run in parallel.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = false)]
