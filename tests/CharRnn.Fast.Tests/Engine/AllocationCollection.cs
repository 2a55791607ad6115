using Xunit;

namespace CharRnn.Fast.Tests.Engine;

/// <summary>
/// Tests that count a thread's allocated bytes run alone, after the parallel ones: beside other tests they were seen to
/// count a few kilobytes once in many runs, which no code path of theirs allocates.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationCollection
{
    public const string Name = "measures allocation";
}
