using System.Runtime.CompilerServices;

namespace CharRnn.Fast.Kernels;

/// <summary>
/// How one compact weight format is multiplied in at one vector width: the inner step of <see cref="CompactGemv"/>.
/// Weights are stored in groups of k (<see cref="CompactMatrix"/>): each column holds 4 bytes per group, 4 int8 values
/// or 2 bfloat16, so a vector of <c>Count</c> 32-bit lanes holds one group of <c>Count</c> consecutive columns, and one
/// row's activations for that group are broadcast to every lane. Accumulators live in the float vector type
/// <typeparamref name="TV"/> (int8 sums as the bits of 32-bit integers; reinterpreting costs no instruction).
/// </summary>
internal interface ICompactDot<TV> where TV : struct
{
    /// <summary>Bytes of one group of one row of prepared activations (<see cref="CompactActivations"/>).</summary>
    static abstract int InputGroupBytes { get; }

    /// <summary>True when the sums are integers that the row and column scales turn into floats (int8).</summary>
    static abstract bool Scaled { get; }

    /// <summary>One row's activations for a group, broadcast to every lane, in the form <see cref="Accumulate"/> takes.</summary>
    static abstract VectorPair<TV> LoadInput(ref readonly byte group);

    /// <summary>A group of <c>Count</c> columns' weights, in the form <see cref="Accumulate"/> takes.</summary>
    static abstract VectorPair<TV> LoadWeights(ref readonly byte group);

    /// <summary>acc + Σ over the group's k of x·w, per lane (column).</summary>
    static abstract TV Accumulate(TV acc, VectorPair<TV> x, VectorPair<TV> w);

    /// <summary>The sums as floats (int8: integer to float; bf16: as they are).</summary>
    static abstract TV ToFloat(TV acc);
}

/// <summary>An int8 dot at one width, which also stores quantized activations.</summary>
internal interface IInt8Dot<TV> : ICompactDot<TV> where TV : struct
{
    /// <summary>Stores the lanes of <paramref name="integral"/> (whole numbers in [−127, 127]) as consecutive sbytes.</summary>
    static abstract void StoreInt8(TV integral, ref sbyte destination);
}

/// <summary>Two vectors that travel together: the two halves of a group of weights, or the two forms of a row's activations.</summary>
internal readonly struct VectorPair<TV>(TV first, TV second) where TV : struct
{
    public readonly TV First = first;
    public readonly TV Second = second;
}
