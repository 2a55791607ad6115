using Xunit;

namespace CharRnn.Cli.Tests;

/// <summary>
/// Tests that time events inside a running training (two Ctrl+C within one step) run alone, after the parallel ones: with
/// other tests' processes on the same cores a step once finished between the two signals.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "runs alone";
}
