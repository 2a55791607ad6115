namespace CharRnn.Fast.Kernels;

/// <summary>
/// A compile-time count. The register tile is one generic kernel whose rows and vectors are type arguments: the JIT
/// specializes it per shape, and rows or vectors beyond the shape are dead code whose accumulators take no register.
/// </summary>
internal interface ICount
{
    static abstract int Value { get; }
}

internal readonly struct Zero : ICount { public static int Value => 0; }
internal readonly struct One : ICount { public static int Value => 1; }
internal readonly struct Two : ICount { public static int Value => 2; }
internal readonly struct Three : ICount { public static int Value => 3; }
internal readonly struct Four : ICount { public static int Value => 4; }
internal readonly struct Five : ICount { public static int Value => 5; }
internal readonly struct Six : ICount { public static int Value => 6; }
internal readonly struct Eight : ICount { public static int Value => 8; }
